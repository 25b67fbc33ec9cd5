"""The observation vector the RL policy sees, built from a simulator `Observation`.

One function for the environment (training) and the `rl` policy (bench, service), so
what the policy was trained on is exactly what it is given. Every entry is dimensionless
and clipped to [0, 4]: intensities are divided by the mean of the trailing 24 hours (the
trace's recent level), so a policy trained in California reads Germany the same way.

Layout (`FEATURES` names them): time and budget left, pool size, accounting, the
current intensity, the forecast for the next 24 hours one by one, the mean of hours
25-72, how many of the coming hours are cleaner than now, the cleanest coming hour, the
forecast's relative uncertainty, hypervolume (fraction, log-gap potential, last hour's
gain), evaluations, queue, carried runs, and carbon spent in units of
the objective's carbon reference.
"""

from __future__ import annotations

import math

import numpy as np

from cenas.carbon.accounting import PowerModel
from scheduler_svc.rl.objective import carbon_reference_g, potential
from scheduler_svc.simulator.allocation import EpisodeContext, Observation

NEAR_HOURS = 24
CLIP = 4.0
QUEUE_SCALE = 10.0

FEATURES: tuple[str, ...] = (
    "time_left", "hours_left", "budget_left", "capped", "pool_size", "sampling_power", "idle_power",
    "intensity",
    *(f"forecast_{h}h" for h in range(1, NEAR_HOURS + 1)),
    "forecast_far_mean", "cleaner_hours_ahead", "forecast_min", "forecast_uncertainty",
    "hv_fraction", "hv_potential", "hv_gain", "evaluations", "queued", "carried", "carbon_spent",
)
N_FEATURES = len(FEATURES)


def encode(obs: Observation, context: EpisodeContext) -> np.ndarray:
    """A `N_FEATURES` float32 vector in [0, 4]."""
    power = context.power
    ref = float(np.mean(obs.intensity_history)) if len(obs.intensity_history) else obs.intensity
    ref = max(ref, 1e-6)
    left = obs.remaining_hours
    forecast = np.asarray(obs.forecast if obs.forecast is not None else [], dtype=np.float64)[:left]
    if len(forecast) == 0:
        forecast = np.array([obs.intensity])  # no forecast: persistence
    near = forecast[:NEAR_HOURS]
    near = np.concatenate([near, np.full(NEAR_HOURS - len(near), near[-1])])
    far = forecast[NEAR_HOURS:]
    far_mean = float(far.mean()) if len(far) else float(near.mean())
    coming = forecast[: min(NEAR_HOURS, len(forecast))]
    uncertainty = 0.0
    if obs.forecast_std is not None and len(obs.forecast_std):
        uncertainty = float(np.mean(obs.forecast_std[:NEAR_HOURS])) / ref
    values = [
        *search_state(obs, power),
        obs.intensity / ref,
        *(near / ref),
        far_mean / ref,
        float(np.mean(coming < obs.intensity)),
        float(forecast.min()) / ref,
        uncertainty,
        *progress_state(obs, carbon_reference_g(ref, power)),
    ]
    return np.clip(np.asarray(values, dtype=np.float32), 0.0, CLIP)


def search_state(obs: Observation, power: PowerModel) -> list[float]:
    """Time and budget left, pool size, accounting: the first entries of every encoder."""
    left = obs.remaining_hours
    budget_left = max(0.0, 1.0 - obs.carbon_g / obs.carbon_cap_g) if obs.carbon_cap_g else 1.0
    return [
        left / obs.hours_total,
        left / 100.0,
        budget_left,
        1.0 if obs.carbon_cap_g else 0.0,
        math.log2(obs.gpus) / 4.0,
        power.sampling_w / max(power.evaluation_w, 1e-9),
        power.idle_w / max(power.evaluation_w, 1e-9),
    ]


def progress_state(obs: Observation, carbon_reference: float) -> list[float]:
    """Hypervolume (fraction, log-gap potential, last hour's gain), evaluations, queue,
    carried runs, carbon spent in units of the objective's reference."""
    return [
        obs.hypervolume_fraction,
        potential(obs.hypervolume_fraction),
        10.0 * obs.hypervolume_gain,
        obs.evaluations / 100.0,
        obs.queued / QUEUE_SCALE,
        obs.carried / obs.gpus,
        obs.carbon_g / carbon_reference,
    ]
