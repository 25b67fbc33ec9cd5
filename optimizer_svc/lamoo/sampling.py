"""Uniform sampling of distinct, not-yet-used codes inside a region.

Rejection sampling: draw batches from the whole space, drop banned codes (told or
excluded), keep those the path's SVMs accept, dedupe in draw order (the first `n`
distinct codes of an i.i.d. uniform stream are a uniform random subset). The batch size
follows the acceptance rate seen so far, starting from 2^-depth.

When rejection would need about as many draws as the space holds (a small region, or an
ask that nearly exhausts it), small spaces are enumerated instead: every valid code is
classified once per region (cached) and a random subset of the unbanned members is taken.
Only then is "exhausted" exact; for spaces too large to enumerate, the search stops after
`MAX_DRAWS` draws and returns what it found.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from optimizer_svc.lamoo.region import Region

MIN_BATCH = 256
MAX_BATCH = 1 << 16
#: give up on spaces too large to enumerate after this many draws
MAX_DRAWS = 1 << 21


def sample_region(
    region: Region, n: int, rng: np.random.Generator, banned: np.ndarray
) -> np.ndarray:
    """Up to `n` distinct codes inside `region` and not in `banned` (sorted, unique int codes)."""
    space, enumerable = region.space, region.enumerable
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    is_banned = _banned_test(banned, space.size if enumerable else None)
    found = np.zeros(0, dtype=np.int64)
    draws = accepted = 0
    rate = 0.5**region.depth
    while len(found) < n:
        wanted = math.ceil(1.5 * (n - len(found)) / max(rate, 1e-4))
        batch = int(min(MAX_BATCH, max(MIN_BATCH, wanted)))
        if enumerable and (region.members_known or draws + batch > space.size):
            pool = region.members()
            pool = pool[~is_banned(pool)]
            return np.asarray(pool[rng.permutation(len(pool))[:n]])
        if not enumerable and draws >= MAX_DRAWS:
            break
        cand = space.random(batch, rng)
        draws += batch
        cand = cand[~is_banned(cand)]
        cand = cand[region.contains(cand)]
        accepted += len(cand)
        rate = accepted / draws
        found = _unique_in_order(np.concatenate([found, cand]))
    return found[:n]


def _unique_in_order(codes: np.ndarray) -> np.ndarray:
    _, first = np.unique(codes, return_index=True)
    return codes[np.sort(first)]


def _banned_test(banned: np.ndarray, size: int | None) -> Callable[[np.ndarray], np.ndarray]:
    """A vectorised membership test: a lookup table for small spaces, a sorted search otherwise."""
    banned = np.asarray(banned, dtype=np.int64)
    if size is not None:
        table = np.zeros(size, dtype=bool)
        table[banned[(banned >= 0) & (banned < size)]] = True  # others cannot be drawn anyway
        return lambda codes: table[codes]
    return lambda codes: np.isin(codes, banned)
