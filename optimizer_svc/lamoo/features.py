"""Encodings of architecture codes, cached because the sampler classifies many codes."""

from __future__ import annotations

import numpy as np

from cenas.tasks.space import CellSpace
from optimizer_svc.lamoo.cell_tables import SubsetLayout, tables_fit

#: spaces up to this many codes get a feature table (NB201: 15,625 x 30 floats, 3.75 MB)
#: and can be enumerated when rejection sampling runs dry
ENUMERATE_LIMIT = 1 << 17
#: cache every code's subset-table positions when that is at most this many numbers (NB201: 1M)
INDEX_CACHE_LIMIT = 1 << 21


class Encoder:
    """One-hot features (what the SVMs learn on) and op ids (what `CellTables` index by)."""

    def __init__(self, space: CellSpace) -> None:
        self.space = space
        self.enumerable = space.size <= ENUMERATE_LIMIT
        self.layout: SubsetLayout | None = SubsetLayout(space) if tables_fit(space) else None
        self._table: np.ndarray | None = None
        self._index: np.ndarray | None = None
        index_size = space.size * (1 << space.n_edges)
        self._cache_index = (
            self.layout is not None and self.enumerable and index_size <= INDEX_CACHE_LIMIT
        )

    def features(self, codes: np.ndarray) -> np.ndarray:
        """`n` codes -> `n x (n_edges * n_ops)` one-hot features."""
        codes = self._check(codes)
        if not self.enumerable:
            return self.space.features(codes)
        if self._table is None:
            self._table = self.space.features(np.arange(self.space.size, dtype=np.int64))
        return np.asarray(self._table[codes])

    def op_ids(self, codes: np.ndarray) -> np.ndarray:
        """`n` codes -> `n x n_edges` op ids."""
        return self.space.decode(self._check(codes))

    def subset_index(self, codes: np.ndarray) -> np.ndarray:
        """`n` codes -> `n x 2^E` positions in `CellTables` (requires `layout`)."""
        if self.layout is None:
            space = self.space
            shape = f"{space.n_edges} edges x {space.n_ops} ops"
            raise ValueError(f"no subset tables for a space of {shape}")
        if not self._cache_index:
            return self.layout.index(self.op_ids(codes))
        if self._index is None:
            everything = np.arange(self.space.size, dtype=np.int64)
            self._index = self.layout.index(self.space.decode(everything))
        return np.asarray(self._index[self._check(codes)])

    def _check(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes, dtype=np.int64).reshape(-1)
        if len(codes) and (codes.min() < 0 or codes.max() >= self.space.size):
            raise ValueError(
                f"architecture codes must lie in [0, {self.space.size}), "
                f"got {codes.min()}..{codes.max()}"
            )
        return codes
