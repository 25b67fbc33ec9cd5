"""Calendar and lag features for the tree model (pure numpy, no I/O).

Every feature of a row (issue index ``i``, lead ``k``) reads only ``values[:i]``: the
hours before the issue time. Targets are expressed relative to ``level`` (the mean of the
last 24 hours), which makes one model serve years with different average intensity.
"""

from __future__ import annotations

import numpy as np

#: Hours of past the features read.
LOOKBACK = 336
FEATURE_NAMES: tuple[str, ...] = (
    ("lead", "target_hod", "target_dow", "issue_hod", "weekend")
    + tuple(f"lag{j}" for j in range(1, 25))
    + ("same_hod_1", "same_hod_2", "same_hod_7d", "profile_7d", "profile_14d",
       "mean_168", "std_24", "trend_24", "min_24", "max_24", "level_log")
)


def calendar(epoch_hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hour of day (0-23, UTC) and day of week (0 = Monday) of absolute epoch hours."""
    hod = np.mod(epoch_hours, 24)
    dow = np.mod(epoch_hours // 24 + 3, 7)  # 1970-01-01 was a Thursday
    return hod, dow


def level_of(values: np.ndarray, issue_idx: np.ndarray) -> np.ndarray:
    """Mean of the 24 hours before each issue index (the normaliser)."""
    csum = np.concatenate([[0.0], np.cumsum(values)])
    return (csum[issue_idx] - csum[issue_idx - 24]) / 24.0


def build(values: np.ndarray, start_hour: int, issue_idx: np.ndarray, leads: np.ndarray) -> np.ndarray:
    """Feature matrix, ``(len(issue_idx) * len(leads)) x len(FEATURE_NAMES)``, rows issue-major.

    ``values`` is an hourly series whose hour 0 is epoch hour ``start_hour``; every issue
    index must be at least :data:`LOOKBACK`. Leads are 0-based (lead 0 = the issue hour).
    """
    issue_idx = np.asarray(issue_idx, dtype=np.int64)
    leads = np.asarray(leads, dtype=np.int64)
    if issue_idx.size and issue_idx.min() < LOOKBACK:
        raise ValueError(f"issue indices must be >= {LOOKBACK}, got {issue_idx.min()}")
    n, h = len(issue_idx), len(leads)
    level = level_of(values, issue_idx)  # (n,)
    lv = level[:, None]
    target = issue_idx[:, None] + leads[None, :]  # (n, h) absolute index of target hour
    t_hod, t_dow = calendar(start_hour + target)
    i_hod, _ = calendar(start_hour + issue_idx)
    # same hour of day, most recent before issue: step back whole days until < issue
    back_days = leads // 24 + 1  # (h,)
    same1 = target - 24 * back_days[None, :]
    same2 = same1 - 24
    week = target - 168 * (1 + leads[None, :] // 168)
    # profile: mean of the same hour over the last 7 / 14 days before issue
    prof7 = np.mean([values[same1 - 24 * d] for d in range(7)], axis=0)
    prof14 = np.mean([values[same1 - 24 * d] for d in range(14)], axis=0)
    lags = np.stack([values[issue_idx - j] for j in range(1, 25)], axis=1) / lv  # (n, 24)
    win24 = np.stack([values[issue_idx - j] for j in range(1, 25)], axis=1)
    prev24 = np.stack([values[issue_idx - j] for j in range(25, 49)], axis=1)
    mean168 = np.mean(np.stack([values[issue_idx - j] for j in range(1, 169)], axis=1), axis=1)
    per_issue = np.column_stack([
        mean168 / level,
        win24.std(axis=1) / level,
        win24.mean(axis=1) / prev24.mean(axis=1),
        win24.min(axis=1) / level,
        win24.max(axis=1) / level,
        np.log(np.maximum(level, 1e-6)),
    ])  # (n, 6)
    cols = [
        np.broadcast_to(leads[None, :], (n, h)),
        t_hod,
        t_dow,
        np.broadcast_to(i_hod[:, None], (n, h)),
        (t_dow >= 5).astype(np.int64),
    ]
    out = np.empty((n, h, len(FEATURE_NAMES)), dtype=np.float32)
    for c, col in enumerate(cols):
        out[:, :, c] = col
    out[:, :, 5:29] = lags[:, None, :]
    out[:, :, 29] = values[same1] / lv
    out[:, :, 30] = values[same2] / lv
    out[:, :, 31] = values[week] / lv
    out[:, :, 32] = prof7 / lv
    out[:, :, 33] = prof14 / lv
    out[:, :, 34:40] = per_issue[:, None, :]
    return out.reshape(n * h, len(FEATURE_NAMES))


def targets(values: np.ndarray, issue_idx: np.ndarray, leads: np.ndarray) -> np.ndarray:
    """Relative targets ``values[i + k] / level(i)``, flattened like :func:`build`."""
    level = level_of(values, np.asarray(issue_idx))
    target = np.asarray(issue_idx)[:, None] + np.asarray(leads)[None, :]
    return (values[target] / level[:, None]).reshape(-1)
