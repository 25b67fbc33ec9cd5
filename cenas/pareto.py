"""Pareto utilities in one orientation: every objective is *maximised*.

Callers with minimised objectives negate them first (see `cenas.tasks.Objective.sign`).
Hypervolume and non-dominance come from botorch; dominance numbers (how many points
dominate each one, LaMOO's ranking) are not in botorch and are computed here.
"""

from __future__ import annotations

import numpy as np

ArrayNM = np.ndarray  # an `n x m` float array of maximised objective values


def non_dominated_mask(values: ArrayNM) -> np.ndarray:
    """Boolean mask of the Pareto-optimal rows of an `n x m` array (duplicates all kept)."""
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    import torch  # botorch and torch load lazily: workers that never compute a front start faster
    from botorch.utils.multi_objective.pareto import is_non_dominated

    y = torch.as_tensor(np.asarray(values, dtype=np.float64))
    return is_non_dominated(y, deduplicate=False).numpy()


def hypervolume(values: ArrayNM, ref_point: np.ndarray) -> float:
    """Hypervolume dominated by `values` (`n x m`, maximised) above `ref_point` (`m`)."""
    ref = np.asarray(ref_point, dtype=np.float64)
    vals = np.asarray(values, dtype=np.float64).reshape(-1, len(ref))
    vals = vals[(vals > ref).all(axis=1)]
    if len(vals) == 0:
        return 0.0
    front = vals[non_dominated_mask(vals)]
    import torch
    from botorch.utils.multi_objective.hypervolume import Hypervolume

    return float(Hypervolume(torch.as_tensor(ref)).compute(torch.as_tensor(front)))


def dominance_numbers(values: ArrayNM) -> np.ndarray:
    """For each row, how many rows dominate it (Pareto-optimal rows get 0)."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return np.zeros(0, dtype=np.int64)
    ge = np.ones((len(v), len(v)), dtype=bool)  # ge[i, j]: i is >= j in every objective
    gt = np.zeros((len(v), len(v)), dtype=bool)  # gt[i, j]: i is > j in some objective
    for k in range(v.shape[1]):
        col = v[:, k]
        ge &= col[:, None] >= col[None, :]
        gt |= col[:, None] > col[None, :]
    return (ge & gt).sum(axis=0).astype(np.int64)
