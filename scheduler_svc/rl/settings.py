"""`planner`-kind policies: each hour the network picks the planner's settings.

Why: the `mpc` planner is good at placing work in the cleanest hours of a forecast, but
one setting does not suit every search. `benchmarks/planner_settings.py` holds the planner
at fixed settings on 2022 validation dates (8 GPUs, 80 h, LaMOO, 3 starts x 2 seeds):
where sampling is free (the paper's accounting; PJM, CISO) a cap of two units at once
needed 5,212 g to reach 99 % of the maximum hypervolume against the uncapped planner's
7,678 g (a candidate evaluated with fewer others is the best of a longer screening);
under full accounting (PJM, CISO, DE) a cap of one unit needed 11,348 g against 6,516 g
(idle GPUs burn power while the search waits). A network that sees the accounting, the
grid's shape and the search's progress picks the cap and the carbon price per hour.

Every action is a plan of the planner, so the network decides how eager the planner
is, never where its work goes; the carbon envelope (`guard.py`) bounds what it can
spend beyond the planner's own allocations.

Actions (`PLANNER_SETTINGS`): the most units run at once (1, 2, half or all of the
pool's units) x the price multiplier (0.5, 1, 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scheduler_svc.rl.guard import CarbonEnvelope, pool_hour_g
from scheduler_svc.rl.planner import PlannerPolicy, pool_units
from scheduler_svc.rl.relative_features import encode_relative
from scheduler_svc.simulator.allocation import Allocation, EpisodeContext, Observation


@dataclass(frozen=True)
class PlannerSetting:
    #: "1", "2", "half" or "all" of the pool's units
    concurrency: str
    price_scale: float

    def max_units(self, units: int) -> int:
        if self.concurrency == "all":
            return units
        if self.concurrency == "half":
            return max(1, units // 2)
        return min(units, int(self.concurrency))


PLANNER_SETTINGS: tuple[PlannerSetting, ...] = tuple(
    PlannerSetting(c, p) for c in ("1", "2", "half", "all") for p in (0.5, 1.0, 2.0)
)
DEFAULT_SETTING = PLANNER_SETTINGS.index(PlannerSetting("all", 1.0))


class SettingsActor:
    """Turns a `planner`-kind policy's action into an allocation; one per search.

    `observe` runs the planner at its default settings (the advice in the observation
    and the envelope's reference), `act` runs it at the chosen ones and passes the result
    through the envelope. The environment (training) and the `rl` policy (acting) both
    use it, so the two cannot drift apart.
    """

    def __init__(self, *, guarded: bool = True) -> None:
        self.guarded = guarded
        self.planner = PlannerPolicy()
        self.envelope: CarbonEnvelope | None = None
        self._reference: Allocation | None = None
        self.last_setting: PlannerSetting | None = None
        self.last_max_units = 0
        #: whether the envelope ran the planner's allocation instead in the last `act`
        self.last_overridden = False

    def reset(self, context: EpisodeContext) -> None:
        self.context = context
        self.planner.reset(context)
        self.envelope = None
        self._reference = None

    def observe(self, obs: Observation) -> np.ndarray:
        units = pool_units(self.context.power, obs.gpus)
        if obs.remaining_hours <= 0:  # the terminal observation: nothing left to plan
            self._reference = None
            return encode_relative(obs, self.context, 0.0, 0.0)
        if self.envelope is None and self.guarded:
            mean = float(np.mean(obs.intensity_history)) if len(obs.intensity_history) else obs.intensity
            self.envelope = CarbonEnvelope(self.context.power, pool_hour_g(self.context.power, obs.gpus, mean))
        self._reference = self.planner.decide(obs)
        plan = self.planner.last_plan
        now = float(plan[0]) / units if plan is not None and len(plan) else 0.0
        return encode_relative(obs, self.context, now, self.planner.units_ahead(24) / units)

    def act(self, obs: Observation, action: int) -> Allocation:
        """The allocation for `action` (call `observe` on the same observation first)."""
        if not 0 <= int(action) < len(PLANNER_SETTINGS):
            raise ValueError(f"action must be in 0..{len(PLANNER_SETTINGS) - 1}, got {action}")
        if self._reference is None:
            raise RuntimeError("observe() the observation before act()")
        setting = PLANNER_SETTINGS[int(action)]
        units = pool_units(self.context.power, obs.gpus)
        self.last_setting, self.last_max_units = setting, setting.max_units(units)
        reference = self._reference
        if int(action) == DEFAULT_SETTING:
            chosen = reference
        else:
            chosen = self.planner.decide_with(obs, max_units=self.last_max_units, price_scale=setting.price_scale)
        if self.envelope is None:
            self.last_overridden = False
            return chosen
        ran = self.envelope.admit(chosen, reference, obs.intensity)
        self.last_overridden = ran is not chosen
        return ran
