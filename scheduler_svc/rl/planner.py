"""`mpc` and `oracle`: plan the split over the forecast horizon, act on the first hour.

The model the planner optimises is the RL objective (`objective.py`):
`potential(final) - price * sum_t carbon_weight(HV_t) * grams_t / reference`.

* Work comes in *units*: one evaluating GPU plus its sampling partner for one hour. When
  sampling costs power (full accounting) a unit is 1 evaluating + 1 sampling GPU (the
  split whose screening made each evaluation count most per joule in calibration: 2+2
  needed 20 evaluations to reach 99 % of the maximum HV, 4+2 needed 27, 4+1 needed 60);
  when sampling is free (paper accounting) every GPU that does not evaluate samples.
  A unit-hour completes `1 / eval_hours` screened evaluations on average.
* Progress: `ProgressModel.gap(n)`, the expected gap to the maximum HV after `n`
  screened evaluations. The search's current gap gives its effective `n`, so the model
  is re-anchored to the real search every hour.
* Carbon per hour: units x (their power over idling) + every GPU's idle power, x PUE x
  the hour's intensity; under a cap, the plan ends when the modelled budget runs out.
* Intensities: now, then the forecast (`mpc`: seasonal naive, issued hourly from the
  past; `oracle`: the true future to the end of the run); hours past the forecast repeat
  its last day.

Plans searched (all evaluated under the model in one vectorised pass, the best one's first
hour is run, and the planner replans next hour - receding horizon): "run `k` units in
every hour whose intensity is at most the `q1`-quantile of the planned hours until `N`
unit-hours are done (reaching the target), then in every hour at most the `q2`-quantile
(polishing, or never)", over a grid of `k` (1, 2, half and all of the units the pool
holds), `q1` (8 levels), `q2` (4 levels or never) and `N` (9 levels up to unlimited),
plus "run nothing": about 1,400 plans, a few milliseconds a decision. Two phases because the hours worth working in differ before the target (every
gram and every waiting hour counts fully) and after it (polishing counts a tenth).
"""

from __future__ import annotations

import numpy as np

from cenas.carbon.accounting import PowerModel
from scheduler_svc.rl.objective import CARBON_PRICE, GAP_FLOOR, POLISH_WEIGHT, TARGET_FRACTION, ProgressModel, carbon_reference_g
from scheduler_svc.simulator.allocation import Allocation, EpisodeContext, Observation
from scheduler_svc.simulator.policies import AllocationPolicy

QUANTILES = np.array([0.0, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.0])
POLISH_QUANTILES = np.array([0.15, 0.3, 0.6, 1.0])
UNIT_HOURS = np.array([2, 4, 8, 12, 16, 24, 32, 48, np.inf])


def planned_intensities(obs: Observation, hours: int) -> np.ndarray:
    """`hours` intensities from now: the current one, the forecast, then its last day
    repeated (or the trailing day's mean without a forecast)."""
    known = np.concatenate([[obs.intensity], np.asarray(obs.forecast if obs.forecast is not None else [], np.float64)])
    known = known[:hours]
    if len(known) < hours:
        pattern = known[-24:] if len(known) >= 24 else np.array([float(np.mean(obs.intensity_history))])
        reps = int(np.ceil((hours - len(known)) / len(pattern)))
        known = np.concatenate([known, np.tile(pattern, reps)[: hours - len(known)]])
    return known


def pool_units(power: PowerModel, gpus: int) -> int:
    """How many units a pool holds: every GPU when sampling is free, else one evaluating
    GPU per sampling partner (a lone GPU is one unit)."""
    if power.sampling_w == 0 or gpus == 1:
        return gpus
    return gpus // 2


class PlannerPolicy(AllocationPolicy):
    """Receding-horizon planner over the forecast (see the module docstring)."""

    name = "mpc"
    forecast_source = "naive"

    def __init__(self, model: ProgressModel | None = None, carbon_price: float = CARBON_PRICE) -> None:
        if carbon_price < 0:
            raise ValueError(f"carbon_price must be >= 0, got {carbon_price}")
        self.model = model or ProgressModel()
        self.carbon_price = carbon_price
        self._price_per_g: float | None = None
        self.last_plan: np.ndarray | None = None

    def reset(self, context: EpisodeContext) -> None:
        super().reset(context)
        self._price_per_g = None
        self.last_plan = None

    def _gap(self, n: np.ndarray) -> np.ndarray:
        m = self.model
        return np.clip(np.where(n > 0, m.floor + m.scale * np.maximum(n, 1e-9) ** -m.exponent, 1.0), 0.0, 1.0)

    def _potential(self, n: np.ndarray) -> np.ndarray:
        return -np.log10(np.clip(self._gap(n), GAP_FLOOR, 1.0)) / 3.0

    def plan(self, obs: Observation, *, max_units: int | None = None, price_scale: float = 1.0) -> np.ndarray:
        """Units (evaluating GPUs) per remaining hour, index 0 = now.

        `max_units` caps the units run at once (plans with more are not searched) and
        `price_scale` multiplies the carbon price: the two settings a `planner`-kind RL
        policy chooses each hour (`settings.py`).
        """
        power = self.context.power
        gpus, left = obs.gpus, obs.remaining_hours
        intensity = planned_intensities(obs, left)
        if self._price_per_g is None:  # fixed for the episode, at the expected intensity level
            expected = float(np.mean(np.concatenate([obs.intensity_history, intensity])))
            self._price_per_g = self.carbon_price / carbon_reference_g(expected, power)
        units_max = pool_units(power, gpus)
        if power.sampling_w == 0 or gpus == 1:  # one GPU cannot both sample and evaluate
            extra_w = power.evaluation_w - power.idle_w
        else:
            extra_w = power.evaluation_w + power.sampling_w - 2 * power.idle_w
        unit_g = power.carbon_g(max(extra_w, 0.0) / 1000.0, intensity)  # per unit-hour
        base_g = power.carbon_g(gpus * power.idle_w / 1000.0, intensity)

        # candidate plans (P x left units per hour): phase 1 runs k units in hours at most
        # the q1-quantile until N unit-hours are done, phase 2 in hours at most q2 (or never)
        thresholds = np.quantile(intensity, QUANTILES)
        polish = np.concatenate([np.quantile(intensity, POLISH_QUANTILES), [-np.inf]])
        if max_units is not None:
            units_max = max(1, min(units_max, max_units))
        ks = np.unique(np.clip([1, 2, units_max // 2, units_max], 1, units_max))
        q1, q2, k, cap = (a.ravel() for a in np.meshgrid(thresholds, polish, ks, UNIT_HOURS, indexing="ij"))
        cheap = intensity[None, :] + 1e-9
        want1 = np.where(cheap <= q1[:, None], k[:, None], 0).astype(np.float64)
        want2 = np.where(cheap <= q2[:, None], k[:, None], 0).astype(np.float64)
        done_before = np.cumsum(want1, axis=1) - want1
        units = np.where(done_before < cap[:, None], np.clip(cap[:, None] - done_before, 0.0, want1), want2)
        units = np.vstack([units, np.zeros((1, left))])  # and "run nothing"

        grams = units * unit_g[None, :] + base_g[None, :]
        if obs.carbon_cap_g is not None:  # the run stops when the budget is gone, mid-hour
            spent_before = np.cumsum(grams, axis=1) - grams
            remaining = max(obs.carbon_cap_g - obs.carbon_g, 0.0)
            alive = np.clip((remaining - spent_before) / np.maximum(grams, 1e-12), 0.0, 1.0)
            units, grams = units * alive, grams * alive
        n0 = self.model.evaluations_for(1.0 - obs.hypervolume_fraction)
        n_after = n0 + np.cumsum(units, axis=1) / self.model.eval_hours
        pot_after = self._potential(n_after)
        target = TARGET_FRACTION  # carbon_weight, vectorised over plans and hours
        gap_before = np.hstack([np.full((len(units), 1), 1.0 - obs.hypervolume_fraction), self._gap(n_after[:, :-1])])
        weight = np.where(1.0 - gap_before < target, 1.0, POLISH_WEIGHT)
        value = pot_after[:, -1] - price_scale * self._price_per_g * (weight * grams).sum(axis=1)
        best = int(np.argmax(value))
        return np.floor(units[best] + 1e-9).astype(np.int64)

    def units_ahead(self, hours: int = 24) -> float:
        """Mean units of the last plan over its next `hours` (0 before any plan)."""
        plan = self.last_plan
        return float(np.mean(plan[:hours])) if plan is not None and len(plan) else 0.0

    def decide(self, observation: Observation) -> Allocation:
        return self.decide_with(observation)

    def decide_with(self, observation: Observation, *, max_units: int | None = None, price_scale: float = 1.0) -> Allocation:
        """`decide` under the settings `plan` takes."""
        plan = self.plan(observation, max_units=max_units, price_scale=price_scale)
        self.last_plan = plan
        gpus = observation.gpus
        power = self.context.power
        units = int(plan[0]) if len(plan) else 0
        if power.sampling_w == 0:  # free sampling: every GPU not evaluating samples
            evaluation = min(units, gpus)
            return Allocation(evaluation, gpus - evaluation, 0)
        if units == 0:
            return Allocation(0, 0, gpus)
        if gpus == 1:
            return Allocation(1, 0, 0)
        evaluation = min(units, gpus - 1)
        sampling = min(units, gpus - evaluation)
        return Allocation(evaluation, sampling, gpus - evaluation - sampling)


class OraclePolicy(PlannerPolicy):
    """The same planner with the true future trace to the end of the run: the practical
    limit of carbon-aware planning with this model (not a bound on any policy)."""

    name = "oracle"
    forecast_source = "true"
    forecast_horizon = 24 * 365
