import numpy as np
import pytest

from cenas.errors import InvalidProblemError
from cenas.tasks.nb201 import NB201Problem, parse_problem


def test_table_rows_are_indexed_by_code(nb201):
    table = nb201.table
    assert len(table.arch_str) == nb201.space.size
    for code in (0, 42, 6111, 15624):
        assert table.arch_str[code] == nb201.space.arch_str(code)


def test_objectives_costs_and_estimates(nb201):
    table = nb201.table
    best = int(np.flatnonzero(table.nb201_index == 6111)[0])  # the published CIFAR-10 optimum
    true = nb201.true_values(np.array([best]))[0]
    assert true[0] == pytest.approx(94.37)
    assert true[1] == pytest.approx(-table.column("c10_hw_edgegpu_energy")[best])
    assert nb201.raw_values(np.array([best]))[0][1] > 0
    est = nb201.estimated_values(np.array([best]))[0]
    assert est[0] == pytest.approx(table.column("c10_fewshot_supernet_acc")[best]) and est[1] == true[1]
    # full CIFAR-10 training = twice the 25k-image cifar10-valid run
    assert nb201.evaluation_cost_s(np.array([best]))[0] == pytest.approx(2 * table.column("c10valid_train_time_200ep_s")[best])
    assert nb201.ref_point.tolist() == [0.0, -50.0]


def test_datasets_without_supernet_use_12_epoch_estimate():
    problem = NB201Problem(dataset="cifar100", metric="edgegpu_latency")
    assert problem.estimator == "12ep"
    assert problem.max_hypervolume > 0


def test_metric_with_missing_values_masks_the_space():
    problem = NB201Problem(metric="edgetpu_latency")
    assert problem.space.valid is not None
    assert len(problem.space.valid_codes()) == problem.space.size - 4699


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("nb101:cifar10:edgegpu_energy", "must look like nb201:<dataset>:<metric>"),
        ("nb201:mnist:edgegpu_energy", "unknown nb201 dataset 'mnist'"),
        ("nb201:cifar10:watts", "unknown HW-NAS-Bench metric 'watts'"),
        ("nb201:cifar10:edgegpu_energy:magic", "unknown estimator 'magic'"),
    ],
)
def test_problem_errors_name_the_bad_part(spec, fragment):
    with pytest.raises(InvalidProblemError, match=fragment):
        parse_problem(spec)
