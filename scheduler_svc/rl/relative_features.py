"""The observation of `planner`-kind policies: every intensity relative to its own range.

Why: the first policies divided intensities by the trailing day's mean, which still
leaves a grid's swing in grams-per-mean (a flat coal grid and a solar grid read as
different worlds). Here each intensity is placed in the range spanned by the trailing
day and the forecast (0 = the cleanest hour in sight, 1 = the dirtiest), and the range
itself is one feature relative to the mean, so a policy reads "this is the cleanest
hour for a day" the same way on any grid. Progress features are dimensionless already.

The planner's own decision at its default settings closes the vector, so the policy
learns when to deviate from it (`settings.py`).
"""

from __future__ import annotations

import numpy as np

from scheduler_svc.rl.features import CLIP, progress_state, search_state
from scheduler_svc.rl.objective import carbon_reference_g
from scheduler_svc.simulator.allocation import EpisodeContext, Observation

FORECAST_LEADS = (1, 2, 3, 4, 6, 8, 12, 16, 20, 24)

RELATIVE_FEATURES: tuple[str, ...] = (
    "time_left", "hours_left", "budget_left", "capped", "pool_size", "sampling_power", "idle_power",
    "now_vs_mean", "now_in_range", "trailing_mean_in_range",
    *(f"forecast_{h}h_in_range" for h in FORECAST_LEADS),
    "forecast_far_mean_in_range", "cleaner_hours_ahead", "range_vs_mean",
    "hv_fraction", "hv_potential", "hv_gain", "evaluations", "queued", "carried", "carbon_spent",
    "planner_units_now", "planner_units_24h",
)
N_RELATIVE_FEATURES = len(RELATIVE_FEATURES)


def encode_relative(obs: Observation, context: EpisodeContext, planner_now: float, planner_24h: float) -> np.ndarray:
    """A `N_RELATIVE_FEATURES` float32 vector in [0, 4]; `planner_*` are the default
    planner's units now and over the next day, as fractions of the pool's units."""
    power = context.power
    history = np.asarray(obs.intensity_history, dtype=np.float64)
    if len(history) == 0:
        history = np.array([obs.intensity])
    left = obs.remaining_hours
    forecast = np.asarray(obs.forecast if obs.forecast is not None else [], dtype=np.float64)[: max(left, 1)]
    if len(forecast) == 0:
        forecast = np.array([obs.intensity])  # no forecast: persistence
    seen = np.concatenate([history, [obs.intensity], forecast])
    mean = max(float(seen.mean()), 1e-6)
    lo, hi = float(seen.min()), float(seen.max())
    span = max(hi - lo, 1e-3 * mean)

    def placed(value: float) -> float:
        return (value - lo) / span

    leads = [placed(float(forecast[min(h, len(forecast)) - 1])) for h in FORECAST_LEADS]
    far = forecast[24:]
    coming = forecast[:24]
    values = [
        *search_state(obs, power),
        obs.intensity / float(history.mean() or 1e-6),
        placed(obs.intensity),
        placed(float(history.mean())),
        *leads,
        placed(float(far.mean())) if len(far) else placed(float(coming.mean())),
        float(np.mean(coming < obs.intensity)),
        span / mean,
        *progress_state(obs, carbon_reference_g(float(history.mean()), power)),
        planner_now,
        planner_24h,
    ]
    return np.clip(np.asarray(values, dtype=np.float32), 0.0, CLIP)
