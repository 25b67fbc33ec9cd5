import csv
from importlib import resources

import numpy as np
import pytest

from cenas.pareto import dominance_numbers, hypervolume, non_dominated_mask


def test_hypervolume_hand_checked_2d():
    # three steps above ref (0, 0): 3x1 + 2x(2-1) + 1x(3-2) = 6
    points = np.array([[3.0, 1.0], [2.0, 2.0], [1.0, 3.0], [1.0, 1.0]])
    assert hypervolume(points, np.array([0.0, 0.0])) == pytest.approx(6.0)


def test_hypervolume_ignores_points_not_above_reference():
    assert hypervolume(np.array([[-1.0, 5.0], [2.0, 0.0]]), np.array([0.0, 0.0])) == 0.0
    assert hypervolume(np.zeros((0, 2)), np.array([0.0, 0.0])) == 0.0


def test_hypervolume_3d_box():
    assert hypervolume(np.array([[1.0, 2.0, 3.0]]), np.zeros(3)) == pytest.approx(6.0)


def test_dominance_numbers_hand_checked():
    points = np.array([[3.0, 3.0], [2.0, 2.0], [1.0, 1.0], [3.0, 1.0], [3.0, 3.0]])
    # (3,3) twice: nobody dominates them (equal points do not dominate each other)
    assert dominance_numbers(points).tolist() == [0, 2, 4, 2, 0]
    assert non_dominated_mask(points).tolist() == [True, False, False, False, True]


def test_full_table_front_and_max_hypervolume(nb201):
    # The bundled Pareto-front file was computed independently from the same table.
    path = resources.files("cenas") / "data" / "nasbench" / "nb201_c10_acc_vs_edgegpu_energy_pareto.csv"
    with path.open() as handle:
        expected = {int(row["nb201_index"]) for row in csv.DictReader(handle)}
    found = set(nb201.table.nb201_index[nb201.pareto_codes].tolist())
    assert found == expected
    assert nb201.max_hypervolume == pytest.approx(4155.368, abs=1e-3)
    codes = nb201.space.valid_codes()
    values = nb201.true_values(codes)
    assert (dominance_numbers(values[nb201.pareto_codes]) == 0).all()
