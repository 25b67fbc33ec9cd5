"""Where candidate architectures come from: the optimizer protocol the simulator drives."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np

from cenas.tasks.space import CellSpace


class Proposer(Protocol):
    """An ask/tell multi-objective optimizer over integer architecture codes.

    `tell` adds evaluated results (maximised values), `fit` relearns whatever the proposer
    learns from them (the simulator calls it at most once per interval), `ask` returns up
    to `n` distinct untold codes not in `exclude`.
    """

    def tell(self, codes: np.ndarray, values: np.ndarray) -> None: ...

    def fit(self) -> None: ...

    def ask(self, n: int, *, exclude: np.ndarray = ...) -> np.ndarray: ...


ProposerFactory = Callable[[CellSpace, np.ndarray, int], Proposer]


class RandomProposer:
    """Uniform random search without repeats: the baseline every optimizer must beat."""

    def __init__(self, space: CellSpace, ref_point: np.ndarray, seed: int) -> None:
        self.space = space
        self.rng = np.random.default_rng(seed)
        self._told = np.zeros(space.size, dtype=bool)

    def tell(self, codes: np.ndarray, values: np.ndarray) -> None:
        self._told[np.asarray(codes, dtype=np.int64)] = True

    def fit(self) -> None:
        """Nothing to learn."""

    def ask(self, n: int, *, exclude: np.ndarray = np.zeros(0, dtype=np.int64)) -> np.ndarray:
        blocked = self._told.copy()
        blocked[np.asarray(exclude, dtype=np.int64)] = True
        free = np.setdiff1d(self.space.valid_codes(), np.flatnonzero(blocked), assume_unique=True)
        return self.rng.permutation(free)[:n]
