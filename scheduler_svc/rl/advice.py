"""The planner's advice as extra observation entries, for policies trained to use it.

Why: the `mpc` planner is good at one thing a small network learns slowly from rewards,
placing work in the cleanest hours of a forecast with a deep daily cycle (it beat every
trained policy in US-CAL-CISO); the network is better at the search's progress dynamics.
Giving the policy the planner's decision for the same observation lets it learn when to
follow the planner and when not to, a residual over `mpc` rather than a replacement.

Entries (`ADVICE_FEATURES`): the fractions of the pool the planner would evaluate and
sample with this hour, and its planned evaluating units over the next 24 hours (mean, as
a fraction of the pool). A policy file's observation width says whether it wants them.
"""

from __future__ import annotations

import numpy as np

from scheduler_svc.rl.features import CLIP, N_FEATURES, encode
from scheduler_svc.rl.planner import PlannerPolicy
from scheduler_svc.simulator.allocation import EpisodeContext, Observation

ADVICE_FEATURES: tuple[str, ...] = ("planner_evaluation", "planner_sampling", "planner_units_24h")
N_ADVISED_FEATURES = N_FEATURES + len(ADVICE_FEATURES)


class Advisor:
    """A planner run beside the policy on the same observations (and forecast)."""

    def __init__(self) -> None:
        self.planner = PlannerPolicy()

    def reset(self, context: EpisodeContext) -> None:
        self.planner.reset(context)

    def advise(self, obs: Observation) -> np.ndarray:
        if obs.remaining_hours <= 0:  # the terminal observation: nothing left to plan
            return np.zeros(len(ADVICE_FEATURES), dtype=np.float32)
        allocation = self.planner.decide(obs)
        near = self.planner.units_ahead(24)
        values = [allocation.evaluation / obs.gpus, allocation.sampling / obs.gpus, near / obs.gpus]
        return np.clip(np.asarray(values, dtype=np.float32), 0.0, CLIP)


def observation(obs: Observation, context: EpisodeContext, advisor: Advisor | None) -> np.ndarray:
    """What a policy sees: the features, then the advice when it has an advisor; one
    function for the environment (training) and the `rl` policy (acting)."""
    features = encode(obs, context)
    return features if advisor is None else np.concatenate([features, advisor.advise(obs)])
