"""The region LaMOO selected: the codes every SVM on the path from the root accepts."""

from __future__ import annotations

import numpy as np

from cenas.tasks.space import CellSpace
from optimizer_svc.lamoo.features import Encoder
from optimizer_svc.lamoo.tree import Node


class Region:
    """A node of the last tree seen as a set of architectures.

    A code is inside when, at each split on the path, the parent's boundary puts it on the
    side of the child the path takes. The root's region is the whole space.
    """

    def __init__(self, node: Node, encoder: Encoder) -> None:
        self.node = node
        self.path: tuple[Node, ...] = node.path()
        self._encoder = encoder
        self._members: np.ndarray | None = None

    @property
    def depth(self) -> int:
        return self.node.depth

    @property
    def space(self) -> CellSpace:
        return self._encoder.space

    @property
    def enumerable(self) -> bool:
        """Whether `members` may be called (the space is small enough to classify whole)."""
        return self._encoder.enumerable

    @property
    def members_known(self) -> bool:
        """Whether `members` is already computed (then it is the cheapest way to sample)."""
        return self._members is not None

    @property
    def is_root(self) -> bool:
        return self.node.parent is None

    def parent(self) -> Region | None:
        """The enclosing region (one split fewer); None for the root."""
        if self.node.parent is None:
            return None
        return Region(self.node.parent, self._encoder)

    def contains(self, codes: np.ndarray) -> np.ndarray:
        """Boolean `n` mask: accepted by every SVM on the path.

        Each level only classifies the codes the levels above kept, so deep regions cost
        little more than the root's split.
        """
        codes = np.asarray(codes, dtype=np.int64).reshape(-1)
        inside = np.ones(len(codes), dtype=bool)
        alive = np.arange(len(codes))
        for child in self.path[1:]:
            if len(alive) == 0:
                break
            boundary = child.parent.boundary if child.parent is not None else None
            if boundary is None:  # pragma: no cover - a child always has a split parent
                raise RuntimeError(f"{child!r} has no parent boundary")
            keep = boundary.good(codes[alive]) == bool(child.is_good)
            inside[alive[~keep]] = False
            alive = alive[keep]
        return inside

    def members(self) -> np.ndarray:
        """Every valid code inside, ascending (enumerable spaces only; cached per region)."""
        if not self._encoder.enumerable:
            size = self._encoder.space.size
            raise ValueError(f"a space of {size} codes is too large to enumerate")
        if self._members is None:
            codes = self._encoder.space.valid_codes()
            self._members = codes[self.contains(codes)]
        return self._members

    def __repr__(self) -> str:
        return f"Region(depth={self.depth}, node={self.node!r})"
