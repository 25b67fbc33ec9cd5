"""Properties of the tree, the region and `ask`, over random data, sizes and settings."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cenas.tasks.space import CellSpace
from optimizer_svc.lamoo import LaMOO, LaMOOConfig, Region

NB201 = CellSpace()
SMALL = CellSpace(ops=("a", "b", "c"), edges=((1, 0), (2, 0), (2, 1), (3, 0)))  # 81 codes: asks can exhaust it
REF = np.array([0.0, 0.0])

configs = st.builds(
    LaMOOConfig,
    min_leaf_size=st.integers(1, 12),
    max_height=st.integers(0, 3),
    cp_fraction=st.sampled_from([0.0, 0.1, 1.0]),
    selection=st.sampled_from(["mcts", "leaf"]),
    kernel=st.sampled_from(["rbf", "poly"]),
)
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def told(space: CellSpace, n: int, seed: int, config: LaMOOConfig, opt_seed: int = 0) -> LaMOO:
    """An optimizer told `n` distinct codes whose two objectives depend on the ops (plus noise)."""
    rng = np.random.default_rng(seed)
    codes = rng.choice(space.size, min(n, space.size), replace=False)
    ops = space.decode(codes)
    values = np.stack([(ops == 1).sum(1) + rng.random(len(codes)), (ops == 2).sum(1) + rng.random(len(codes))], axis=1)
    opt = LaMOO(space, REF, config, seed=opt_seed)
    opt.tell(codes, values)
    return opt


@PROPERTY_SETTINGS
@given(config=configs, n=st.integers(0, 150), seed=st.integers(0, 2**16))
def test_tree_partitions_the_samples_within_its_limits(config: LaMOOConfig, n: int, seed: int) -> None:
    opt = told(NB201, n, seed, config)
    opt.fit()
    codes, _ = opt.samples
    leaves = opt.leaves()
    rows = np.sort(np.concatenate([leaf.indices for leaf in leaves]))
    np.testing.assert_array_equal(rows, np.arange(opt.n_samples))  # each sample in exactly one leaf
    assert all(leaf.depth <= config.max_height for leaf in leaves)
    if len(leaves) > 1:
        assert all(leaf.n >= config.min_leaf_size for leaf in leaves)
    else:
        assert leaves == [opt.root]
    for leaf in leaves:  # a leaf's samples are exactly those its region accepts
        inside = opt.region_of(leaf).contains(codes)
        np.testing.assert_array_equal(np.flatnonzero(inside), np.sort(leaf.indices))
    region = opt.region
    assert region.node in leaves and region.path[0] is opt.root and region.path[-1] is region.node
    assert region.depth == len(region.path) - 1
    assert region.contains(codes[region.node.indices]).all()


def _free_codes(region: Region, banned: np.ndarray) -> np.ndarray:
    members = region.members()
    return members[~np.isin(members, banned)]


@PROPERTY_SETTINGS
@given(
    config=configs,
    space=st.sampled_from([NB201, SMALL]),
    n=st.integers(0, 80),
    seed=st.integers(0, 2**16),
    k=st.integers(0, 120),
    n_exclude=st.integers(0, 60),
)
def test_ask_returns_fresh_distinct_codes_inside_the_region(
    config: LaMOOConfig, space: CellSpace, n: int, seed: int, k: int, n_exclude: int
) -> None:
    opt = told(space, n, seed, config)
    opt.fit()
    exclude = np.random.default_rng(seed + 1).choice(space.size, n_exclude, replace=False)
    asked = opt.ask(k, exclude=exclude)
    told_codes, _ = opt.samples
    assert asked.dtype == np.int64 and len(asked) <= k
    assert len(np.unique(asked)) == len(asked)
    assert not np.isin(asked, told_codes).any() and not np.isin(asked, exclude).any()
    # The selected region, or (when nothing is left there) the nearest ancestor with free codes.
    banned = np.union1d(told_codes, exclude)
    region: Region | None = opt.region
    while region is not None and len(_free_codes(region, banned)) == 0:
        region = region.parent()
    if region is None or k == 0:
        assert len(asked) == 0
        return
    assert region.contains(asked).all()
    assert len(asked) == min(k, len(_free_codes(region, banned)))


@settings(max_examples=10, deadline=None)
@given(config=configs, n=st.integers(0, 100), seed=st.integers(0, 2**16), opt_seed=st.integers(0, 3))
def test_same_seed_and_tells_give_the_same_asks(config: LaMOOConfig, n: int, seed: int, opt_seed: int) -> None:
    runs = []
    for _ in range(2):
        opt = told(NB201, n, seed, config, opt_seed)
        opt.fit()
        runs.append([opt.ask(7).tolist(), opt.ask(300, exclude=[1, 2, 3]).tolist()])
    assert runs[0] == runs[1]


def test_exhausted_region_falls_back_to_its_parent() -> None:
    opt = told(NB201, 120, 3, LaMOOConfig(min_leaf_size=10, max_height=2))
    opt.fit()
    region = opt.region
    assert region.depth >= 1
    inside = region.members()
    asked = opt.ask(20, exclude=inside)  # nothing left in the region itself
    assert len(asked) == 20
    assert not region.contains(asked).any()
    assert region.parent() is not None and region.parent().contains(asked).all()  # type: ignore[union-attr]
    everything_else = np.setdiff1d(np.arange(NB201.size), opt.samples[0])
    assert len(opt.ask(5, exclude=everything_else)) == 0  # the whole space is used up


def test_rejection_sampling_on_a_space_too_big_to_enumerate() -> None:
    space = CellSpace(ops=tuple("abcdefgh"), edges=tuple((i + 1, 0) for i in range(7)))  # 2M codes
    opt = told(space, 200, 4, LaMOOConfig(min_leaf_size=10, max_height=3))
    opt.fit()
    assert opt.region.depth >= 1 and not opt.region.enumerable
    asked = opt.ask(500, exclude=np.arange(1000))
    assert len(asked) == 500 and len(np.unique(asked)) == 500
    assert opt.region.contains(asked).all() and (asked >= 1000).all()
    assert not np.isin(asked, opt.samples[0]).any()
