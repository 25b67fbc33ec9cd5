"""Hand-checked tree pieces: UCB, the two selection rules, tiny data, and the fast SVM decision."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cenas.tasks.space import CellSpace
from optimizer_svc.lamoo import LaMOO, LaMOOConfig, Node
from optimizer_svc.lamoo.boundary import Boundary
from optimizer_svc.lamoo.features import Encoder
from optimizer_svc.lamoo.tree import good_half, select_leaf, select_mcts, ucb

REF0 = np.array([0.0, 0.0])


def node(n: int, hv: float, depth: int = 0, parent: Node | None = None, good: bool | None = None) -> Node:
    """A node of `n` samples whose hypervolume above (0, 0) is `hv`: one point (hv, 1), the rest dominated."""
    values = np.array([[hv, 1.0]] + [[hv / 2, 0.5]] * (n - 1))
    return Node(np.arange(n), depth, values, REF0, parent, good)


def split(parent: Node, good: Node, bad: Node) -> None:
    parent.children = (good, bad)
    for child, side in ((good, True), (bad, False)):
        child.parent, child.is_good, child.depth = parent, side, parent.depth + 1


def test_node_value_is_hypervolume_of_its_samples() -> None:
    assert node(5, 7.0).value == pytest.approx(7.0)


def test_ucb_by_hand() -> None:
    root, good, bad = node(100, 10.0), node(80, 10.0), node(20, 9.5)
    split(root, good, bad)
    # 10 + 2 * 1 * sqrt(2 ln 100 / 80) = 10.6786;  9.5 + 2 * sqrt(2 ln 100 / 20) = 10.8572
    assert ucb(good, 1.0) == pytest.approx(10.0 + 2 * math.sqrt(2 * math.log(100) / 80))
    assert ucb(bad, 1.0) == pytest.approx(10.857, abs=1e-3)
    assert ucb(root, 1.0) == 10.0  # no parent: its value
    assert select_mcts(root, 0.0) is good  # exploitation: higher hypervolume
    assert select_mcts(root, 1.0) is bad  # exploration: the small child's bonus wins
    assert select_leaf(root, 1.0) is bad


def test_ties_go_to_the_good_child() -> None:
    root, good, bad = node(40, 3.0), node(20, 3.0), node(20, 3.0)
    split(root, good, bad)
    assert select_mcts(root, 0.5) is good
    assert select_leaf(root, 0.5) is good


def test_leaf_selection_can_leave_the_mcts_path() -> None:
    # mcts: G (10) beats B (9.5), then GG (6) beats GB (5). leaf: BG (9) is the best leaf.
    root = node(200, 10.0)
    g, b = node(100, 10.0), node(100, 9.5)
    gg, gb, bg, bb = node(50, 6.0), node(50, 5.0), node(50, 9.0), node(50, 1.0)
    split(root, g, b)
    split(g, gg, gb)
    split(b, bg, bb)
    assert select_mcts(root, 0.0) is gg
    assert select_leaf(root, 0.0) is bg
    assert [leaf for leaf in root.leaves()] == [gg, gb, bg, bb]
    assert bg.path() == (root, b, bg)


def test_good_half_is_the_better_ceil_half_stable_on_ties() -> None:
    np.testing.assert_array_equal(good_half(np.array([2, 0, 1, 0, 1])), [False, True, True, True, False])
    np.testing.assert_array_equal(good_half(np.array([0, 0, 0, 0])), [True, True, False, False])


def test_too_few_samples_means_the_whole_space() -> None:
    space = CellSpace()
    rng = np.random.default_rng(0)
    opt = LaMOO(space, np.array([0.0, 0.0]), LaMOOConfig(min_leaf_size=10))
    codes = rng.choice(space.size, 19, replace=False)
    opt.tell(codes, rng.random((19, 2)))
    opt.fit()
    assert opt.region.is_root and opt.region.depth == 0 and opt.region.path == (opt.root,)
    assert opt.leaves() == [opt.root]
    assert opt.region.contains(np.arange(space.size)).all()


def test_region_before_any_fit_is_the_whole_space() -> None:
    opt = LaMOO(CellSpace(), np.array([0.0, 0.0]))
    assert opt.region.is_root and opt.region.contains(np.array([0, 5, 15624])).all()
    assert len(set(opt.ask(50).tolist())) == 50


@pytest.mark.parametrize("kernel", ["rbf", "poly"])
def test_fast_decision_equals_sklearn(kernel: str) -> None:
    space = CellSpace()
    rng = np.random.default_rng(1)
    codes = rng.choice(space.size, 300, replace=False)
    good = (space.decode(codes)[:, 0] == 3) ^ (rng.random(300) < 0.2)
    encoder = Encoder(space)
    boundary = Boundary.fit(codes, good, kernel, encoder)  # type: ignore[arg-type]
    everything = np.arange(space.size)
    expected = boundary.svc.decision_function(space.features(everything))
    np.testing.assert_allclose(boundary.decision(everything), expected, atol=1e-9)
    np.testing.assert_array_equal(boundary.good(everything), boundary.svc.predict(space.features(everything)) == 1)


@pytest.mark.parametrize("kernel", ["rbf", "poly"])
def test_matrix_decision_on_a_space_too_big_for_tables(kernel: str) -> None:
    space = CellSpace(ops=tuple("abcdefgh"), edges=tuple((i + 1, 0) for i in range(7)))  # 8^7 codes
    encoder = Encoder(space)
    assert encoder.layout is None and not encoder.enumerable
    rng = np.random.default_rng(2)
    codes = rng.integers(0, space.size, 200)
    good = space.decode(codes)[:, 2] < 4
    boundary = Boundary.fit(codes, good, kernel, encoder)  # type: ignore[arg-type]
    probe = rng.integers(0, space.size, 500)
    np.testing.assert_allclose(boundary.decision(probe), boundary.svc.decision_function(space.features(probe)), atol=1e-9)
