"""LaMOO's partition tree: built from scratch from all samples at every fit, then selected by UCB.

A node holds the row indices of the samples that fell into it. Splitting labels the node's
samples by dominance number (the better half, ties kept in sample order, is "good"), fits
an SVM on their features, and routes every sample by the SVM's *prediction*, so a child's
samples are exactly the parent's samples its side of the boundary accepts.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from cenas.pareto import dominance_numbers, hypervolume
from optimizer_svc.lamoo.boundary import Boundary
from optimizer_svc.lamoo.config import LaMOOConfig
from optimizer_svc.lamoo.features import Encoder


@dataclass(eq=False, repr=False)
class Node:
    """A region of the tree; `boundary` is set (and `children` is (good, bad)) once split.

    `value` (the hypervolume of the node's samples) is computed on first use: a selection
    only looks at a few nodes.
    """

    indices: np.ndarray  # `n` rows of the samples the tree was built on
    depth: int
    values: np.ndarray  # `n x m` maximised objective values of those rows
    ref_point: np.ndarray
    parent: Node | None = None
    is_good: bool | None = None  # which side of the parent's boundary; None at the root
    boundary: Boundary | None = None
    children: tuple[Node, ...] = field(default=())

    @property
    def n(self) -> int:
        return len(self.indices)

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @cached_property
    def dominance(self) -> np.ndarray:
        """How many of the node's samples dominate each of them."""
        return dominance_numbers(self.values)

    @cached_property
    def value(self) -> float:
        # Hypervolume only depends on the node's Pareto samples; filtering them first with
        # the (cached) dominance numbers keeps botorch's own Pareto filter small.
        return hypervolume(self.values[self.dominance == 0], self.ref_point)

    def path(self) -> tuple[Node, ...]:
        """The nodes from the root down to this one."""
        nodes: list[Node] = []
        node: Node | None = self
        while node is not None:
            nodes.append(node)
            node = node.parent
        return tuple(reversed(nodes))

    def leaves(self) -> Iterator[Node]:
        """Leaves below this node, good side first (depth-first)."""
        if self.is_leaf:
            yield self
            return
        for child in self.children:
            yield from child.leaves()

    def __repr__(self) -> str:
        side = "root" if self.is_good is None else ("good" if self.is_good else "bad")
        return f"Node({side}, depth={self.depth}, n={self.n})"


def good_half(dominance: np.ndarray) -> np.ndarray:
    """Boolean mask of the better ceil(n/2) rows by dominance number (stable on ties)."""
    n = len(dominance)
    order = np.argsort(dominance, kind="stable")
    good = np.zeros(n, dtype=bool)
    good[order[: (n + 1) // 2]] = True
    return good


def build_tree(
    codes: np.ndarray,
    values: np.ndarray,
    ref_point: np.ndarray,
    config: LaMOOConfig,
    encoder: Encoder,
) -> Node:
    """Partition `n` samples (codes `n`, `n x m` maximised values) into a tree."""
    root = Node(np.arange(len(values)), 0, values, ref_point)
    stack = [root]
    while stack:
        node = stack.pop()
        if node.depth >= config.max_height or node.n < 2 * config.min_leaf_size:
            continue
        node_codes = codes[node.indices]
        boundary = Boundary.fit(node_codes, good_half(node.dominance), config.kernel, encoder)
        accepted = boundary.good(node_codes)
        n_good = int(accepted.sum())
        if n_good < config.min_leaf_size or node.n - n_good < config.min_leaf_size:
            continue
        node.boundary = boundary
        node.children = tuple(
            Node(node.indices[mask], node.depth + 1, node.values[mask], ref_point, node, side)
            for mask, side in ((accepted, True), (~accepted, False))
        )
        stack.extend(node.children)
    return root


def ucb(node: Node, cp: float) -> float:
    """value + 2 Cp sqrt(2 ln n_parent / n_node); the root (no parent) scores its value."""
    if node.parent is None:
        return node.value
    return node.value + 2.0 * cp * math.sqrt(2.0 * math.log(node.parent.n) / node.n)


def select_mcts(root: Node, cp: float) -> Node:
    """Walk from the root to a leaf, taking the child with the higher UCB (good child on ties)."""
    node = root
    while not node.is_leaf:
        good, bad = node.children
        node = good if ucb(good, cp) >= ucb(bad, cp) else bad
    return node


def select_leaf(root: Node, cp: float) -> Node:
    """The leaf with the highest UCB (the first in good-first depth-first order on ties)."""
    return max(root.leaves(), key=lambda leaf: ucb(leaf, cp))  # max keeps the first of ties
