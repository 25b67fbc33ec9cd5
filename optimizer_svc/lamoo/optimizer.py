"""LaMOO (Zhao et al., ICLR 2022): learn a partition of the space, propose inside the best part.

Lifecycle: `tell` results as they arrive (any order, any batch size); call `fit` when new
results should reshape the search (it rebuilds the tree from every told sample and selects a
region); `ask` as often as needed in between. `ask` never returns a told code, so asks between
fits see the tells made since. Not thread-safe: one caller owns an instance.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np

from cenas.tasks.space import CellSpace
from optimizer_svc.lamoo.config import LaMOOConfig
from optimizer_svc.lamoo.features import Encoder
from optimizer_svc.lamoo.qnehvi import propose_qnehvi
from optimizer_svc.lamoo.region import Region
from optimizer_svc.lamoo.sampling import sample_region
from optimizer_svc.lamoo.tree import Node, build_tree, select_leaf, select_mcts

#: qnehvi scores this many random region samples (more if an ask wants more)
QNEHVI_CANDIDATES = 1000
#: qnehvi falls back to random sampling below this many told samples per feature
QNEHVI_MIN_SAMPLES_PER_FEATURE = 2


class LaMOO:
    """Multi-objective optimizer over a `CellSpace`; objectives are maximised.

    Deterministic: the same seed and the same sequence of calls give the same asks.
    """

    def __init__(
        self,
        space: CellSpace,
        ref_point: np.ndarray,
        config: LaMOOConfig = LaMOOConfig(),  # noqa: B008 - frozen, so sharing it is safe
        seed: int = 0,
    ) -> None:
        """`ref_point` (`m`, maximised orientation) bounds the hypervolume of node values."""
        ref = np.asarray(ref_point, dtype=np.float64)
        if ref.ndim != 1 or len(ref) < 1 or not np.isfinite(ref).all():
            raise ValueError(f"ref_point must be a finite 1-d array, got {ref_point!r}")
        # ValueError, not TypeError, for every bad constructor argument (the project's rule)
        if not isinstance(config, LaMOOConfig):
            raise ValueError(f"config must be a LaMOOConfig, got {config!r}")  # noqa: TRY004
        if not _is_int(seed):
            raise ValueError(f"seed must be an int, got {seed!r}")
        self.space = space
        self.ref_point = ref
        self.config = config
        self.seed = int(seed)
        self._rng = np.random.default_rng(self.seed)
        self._encoder = Encoder(space)
        self._codes = np.zeros(0, dtype=np.int64)
        self._values = np.zeros((0, len(ref)), dtype=np.float64)
        self._told = np.zeros(0, dtype=np.int64)  # sorted unique told codes
        self._root = Node(np.zeros(0, dtype=np.int64), 0, self._values, ref)
        self._region = Region(self._root, self._encoder)

    # -- data -------------------------------------------------------------------------

    def tell(self, codes: np.ndarray, values: np.ndarray) -> None:
        """Record evaluated codes (`n`) and their `n x m` maximised objective values.

        A code told twice is kept twice (both results count in the tree); it is never
        asked again.
        """
        codes_arr = np.asarray(codes)
        if codes_arr.size and not np.issubdtype(codes_arr.dtype, np.integer):
            raise ValueError(f"codes must be integers, got dtype {codes_arr.dtype}")
        codes_arr = codes_arr.astype(np.int64).reshape(-1)
        vals = np.asarray(values, dtype=np.float64)
        if vals.ndim == 1 and len(codes_arr) == 1:
            vals = vals[None, :]
        if vals.shape != (len(codes_arr), len(self.ref_point)):
            expected = f"{len(codes_arr)} x {len(self.ref_point)}"
            raise ValueError(f"values must be {expected}, got shape {vals.shape}")
        if not np.isfinite(vals).all():
            raise ValueError(f"values must be finite, got {vals[~np.isfinite(vals).all(axis=1)]}")
        self._encoder.op_ids(codes_arr)  # validates the code range
        self._codes = np.concatenate([self._codes, codes_arr])
        self._values = np.concatenate([self._values, vals])
        self._told = np.union1d(self._told, codes_arr)

    @property
    def n_samples(self) -> int:
        return len(self._codes)

    @property
    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """(codes `n`, values `n x m`) in tell order; copies."""
        return self._codes.copy(), self._values.copy()

    # -- partition --------------------------------------------------------------------

    def fit(self) -> None:
        """Rebuild the tree from all told samples and select a region by UCB."""
        self._root = build_tree(
            self._codes, self._values, self.ref_point, self.config, self._encoder
        )
        select = select_mcts if self.config.selection == "mcts" else select_leaf
        self._region = Region(select(self._root, self.cp), self._encoder)

    @property
    def cp(self) -> float:
        """The exploration constant of the last tree: a fraction of the best hypervolume."""
        best = self.config.max_hypervolume
        return self.config.cp_fraction * (best if best is not None else self._root.value)

    @property
    def root(self) -> Node:
        return self._root

    @property
    def region(self) -> Region:
        """The region chosen at the last fit; the whole space before any fit."""
        return self._region

    def region_of(self, node: Node) -> Region:
        """Any node of the last tree as a region (e.g. to inspect the leaves)."""
        return Region(node, self._encoder)

    def leaves(self) -> list[Node]:
        """Leaves of the last tree, good side first."""
        return list(self._root.leaves())

    # -- proposals --------------------------------------------------------------------

    def ask(self, n: int, *, exclude: np.ndarray | Collection[int] = ()) -> np.ndarray:
        """Up to `n` distinct codes inside `region`, none told and none in `exclude`.

        Fewer than `n` only when the region has no more such codes. If it has none at all,
        the parent region is tried, and so on up to the root (the whole space).
        """
        if not _is_int(n) or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")
        excluded = exclude if isinstance(exclude, np.ndarray) else list(exclude)
        banned = np.union1d(self._told, np.asarray(excluded, dtype=np.int64).reshape(-1))
        region: Region | None = self._region
        while region is not None and n > 0:
            codes = self._propose(region, int(n), banned)
            if len(codes):
                return codes
            region = region.parent()
        return np.zeros(0, dtype=np.int64)

    def _propose(self, region: Region, n: int, banned: np.ndarray) -> np.ndarray:
        min_samples = QNEHVI_MIN_SAMPLES_PER_FEATURE * self.space.n_features
        if self.config.sampler == "random" or self.n_samples < min_samples:
            return sample_region(region, n, self._rng, banned)
        candidates = sample_region(region, max(QNEHVI_CANDIDATES, n), self._rng, banned)
        if len(candidates) <= n:
            return candidates
        seed = int(self._rng.integers(2**31 - 1))
        picks = propose_qnehvi(
            self._encoder.features(self._codes),
            self._values,
            self._encoder.features(candidates),
            n,
            self.ref_point,
            seed,
        )
        return np.asarray(candidates[picks])


def _is_int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)
