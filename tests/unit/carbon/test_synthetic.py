"""Synthetic and randomised grids: reproducible, positive, shaped by family, and the test
grids out of reach of every training draw."""

from __future__ import annotations

import numpy as np
import pytest

from cenas.carbon.synthetic import (
    FAMILIES, TEST_GRIDS, TEST_SEED_BASE, load_test_grid, randomise, synthetic_trace, synthetic_values,
)
from cenas.carbon.traces import load_region
from cenas.errors import UnknownRegionError


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_is_positive_and_the_same_for_the_same_seed(family):
    a = synthetic_values(family, np.random.default_rng(3), 24 * 30)
    b = synthetic_values(family, np.random.default_rng(3), 24 * 30)
    c = synthetic_values(family, np.random.default_rng(4), 24 * 30)
    assert len(a) == 24 * 30 and (a > 0).all()
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_families_differ_the_way_their_names_say():
    def stats(family: str) -> tuple[float, float]:
        levels, swings = [], []
        for seed in range(20):
            v = synthetic_values(family, np.random.default_rng(seed), 24 * 28)
            daily = v.reshape(-1, 24).mean(axis=0)
            levels.append(v.mean())
            swings.append((daily.max() - daily.min()) / v.mean())
        return float(np.median(levels)), float(np.median(swings))

    coal, solar, hydro = stats("coal"), stats("solar"), stats("hydro")
    assert coal[0] > 2 * solar[0] and coal[0] > 4 * hydro[0]  # coal is dirty
    assert solar[1] > 3 * coal[1]  # solar swings through the day, coal hardly


def test_randomise_redraws_level_and_swing_but_keeps_the_series_positive():
    real = load_region("US-CAL-CISO").values[: 24 * 30]
    copies = [randomise(real, np.random.default_rng(seed), donor=load_region("DE").values[: 24 * 30]) for seed in range(10)]
    assert all(len(c) == len(real) and (c > 0).all() for c in copies)
    ratios = [c.mean() / real.mean() for c in copies]
    assert max(ratios) / min(ratios) > 1.5  # levels really differ
    assert not np.array_equal(randomise(real, np.random.default_rng(0)), randomise(real, np.random.default_rng(1)))


def test_test_grids_are_reproducible_2023_series_from_seeds_above_the_training_range():
    assert len(TEST_GRIDS) == 2 * len(FAMILIES)
    a, b = load_test_grid("synthetic/coal-1"), load_test_grid("synthetic/coal-1")
    assert a.name == "synthetic/coal-1" and np.array_equal(a.values, b.values)
    assert a.start.year == 2023 and len(a) == 24 * 365
    assert not np.array_equal(a.values, load_test_grid("synthetic/coal-0").values)
    # a training draw (seed below the base) never reproduces a test grid
    assert not np.array_equal(synthetic_trace("coal", TEST_SEED_BASE - 1).values, a.values)


@pytest.mark.parametrize("name", ["synthetic/tidal-0", "synthetic/coal-x", "synthetic/coal"])
def test_unknown_test_grid_is_a_clear_error(name):
    with pytest.raises(UnknownRegionError, match="the test grids are"):
        load_test_grid(name)
