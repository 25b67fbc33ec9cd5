"""Calendar and lag features for the tree model (pure numpy, no I/O).

Every feature of a row (issue index ``i``, lead ``k``) reads only ``values[:i]``: the
hours before the issue time. Targets are expressed relative to ``level`` (the mean of the
last 24 hours), which makes one model serve years with different average intensity.

Weather features (:func:`weather_features`, appended by :func:`build` when it gets
weather) obey the day-ahead rule: with window ``W``, a row at issue index ``i`` reads
weather only at hours ``< i + W``. A target hour inside the window gets its own weather;
one past it gets the weather of the latest hour with the same hour of day inside the
window (for W = 24: day 2 and 3 see day 1's weather, nothing later).
"""

from __future__ import annotations

import numpy as np

from cenas.carbon.weather import WEATHER_SHORT

#: Hours of past the features read.
LOOKBACK = 336
FEATURE_NAMES: tuple[str, ...] = (
    ("lead", "target_hod", "target_dow", "issue_hod", "weekend")
    + tuple(f"lag{j}" for j in range(1, 25))
    + ("same_hod_1", "same_hod_2", "same_hod_7d", "profile_7d", "profile_14d",
       "mean_168", "std_24", "trend_24", "min_24", "max_24", "level_log")
)


WEATHER_FEATURE_NAMES: tuple[str, ...] = (
    tuple(f"wx_{v}" for v in WEATHER_SHORT)           # at the target hour, or its in-window stand-in
    + tuple(f"wx_{v}_prev" for v in WEATHER_SHORT)    # same hour of day, before the issue time
    + tuple(f"wx_{v}_mean" for v in WEATHER_SHORT)    # mean of the last 24 known hours
)


def weather_hours(issue_idx: np.ndarray, leads: np.ndarray, window: int) -> np.ndarray:
    """``(n, h)`` index of the weather hour a (issue, lead) row reads: the target itself
    when it lies inside the window, else the same hour of day moved back by whole days
    until it does. Always ``< issue + window``."""
    leads = np.asarray(leads, dtype=np.int64)
    back = np.where(leads < window, 0, 24 * (-(-(leads - window + 1) // 24)))
    return np.asarray(issue_idx, dtype=np.int64)[:, None] + (leads - back)[None, :]


def weather_features(weather: np.ndarray, issue_idx: np.ndarray, leads: np.ndarray, window: int) -> np.ndarray:
    """``(n, h, len(WEATHER_FEATURE_NAMES))`` features from an ``hours x 5`` block aligned
    with the carbon values (NaN where missing). Reads only rows ``< issue + window``."""
    issue_idx = np.asarray(issue_idx, dtype=np.int64)
    leads = np.asarray(leads, dtype=np.int64)
    at = weather_hours(issue_idx, leads, window)
    prev = issue_idx[:, None] + leads[None, :] - 24 * (leads[None, :] // 24 + 1)
    known = np.stack([weather[issue_idx + window - j] for j in range(1, 25)], axis=1)  # (n, 24, 5)
    mean = known.mean(axis=1)  # (n, 5)
    n, h = at.shape
    return np.concatenate([weather[at], weather[prev], np.broadcast_to(mean[:, None, :], (n, h, mean.shape[1]))], axis=2)


def calendar(epoch_hours: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hour of day (0-23, UTC) and day of week (0 = Monday) of absolute epoch hours."""
    hod = np.mod(epoch_hours, 24)
    dow = np.mod(epoch_hours // 24 + 3, 7)  # 1970-01-01 was a Thursday
    return hod, dow


def level_of(values: np.ndarray, issue_idx: np.ndarray) -> np.ndarray:
    """Mean of the 24 hours before each issue index (the normaliser)."""
    csum = np.concatenate([[0.0], np.cumsum(values)])
    return (csum[issue_idx] - csum[issue_idx - 24]) / 24.0


def build(values: np.ndarray, start_hour: int, issue_idx: np.ndarray, leads: np.ndarray,
          weather: np.ndarray | None = None, window: int = 24) -> np.ndarray:
    """Feature matrix, ``(len(issue_idx) * len(leads)) x len(FEATURE_NAMES)``, rows issue-major
    (plus :data:`WEATHER_FEATURE_NAMES` columns when ``weather`` is given).

    ``values`` is an hourly series whose hour 0 is epoch hour ``start_hour``; every issue
    index must be at least :data:`LOOKBACK`. Leads are 0-based (lead 0 = the issue hour).
    ``weather`` (``hours x 5``, aligned with ``values``, at least ``max(issue) + window``
    rows) is read under the day-ahead rule with ``window``.
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
    out = out.reshape(n * h, len(FEATURE_NAMES))
    if weather is None:
        return out
    wx = weather_features(weather, issue_idx, leads, window).astype(np.float32)
    return np.concatenate([out, wx.reshape(n * h, -1)], axis=1)


def targets(values: np.ndarray, issue_idx: np.ndarray, leads: np.ndarray) -> np.ndarray:
    """Relative targets ``values[i + k] / level(i)``, flattened like :func:`build`."""
    level = level_of(values, np.asarray(issue_idx))
    target = np.asarray(issue_idx)[:, None] + np.asarray(leads)[None, :]
    return (values[target] / level[:, None]).reshape(-1)
