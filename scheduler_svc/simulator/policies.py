"""Allocation policies: how many GPUs evaluate, sample or idle in each interval.

Lifecycle (the contract the RL, MPC and oracle policies plug into): the simulator or the
scheduler service creates one instance per search, calls `reset(context)` once before the
first interval, then `decide(observation)` once per interval, in time order. A policy may
keep state between calls; it must not mutate the observation. Instances are not
thread-safe and are never shared between searches.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from cenas.errors import CenasError
from scheduler_svc.simulator.allocation import Allocation, EpisodeContext, Observation
from scheduler_svc.simulator.forecasts import FORECAST_HOURS


class UnknownPolicyError(CenasError, ValueError):
    """A policy name no registry entry matches."""


class AllocationPolicy(ABC):
    name: str = "policy"
    #: True: evaluation GPUs train candidates screened by the supernet (sampling GPUs).
    #: False: they train the optimizer's proposals directly (vanilla NAS, no supernet).
    screening: bool = True
    #: The forecast the policy wants in its observations, by source name (see
    #: `forecasts.FORECAST_SOURCES`: "naive", "noisy", "true"); None: no forecast. The
    #: bench and the environment honour it; the service passes the forecaster's.
    forecast_source: str | None = None
    #: How many hours ahead that forecast should reach.
    forecast_horizon: int = FORECAST_HOURS

    def reset(self, context: EpisodeContext) -> None:
        self.context = context

    @abstractmethod
    def decide(self, observation: Observation) -> Allocation:
        """The allocation for the interval starting now."""

    def explain(self) -> dict[str, float | int]:
        """Numbers about the last decision worth storing with it (the scheduler service
        adds them to the decision's inputs, which the message contract types as numbers);
        none by default."""
        return {}


class VanillaPolicy(AllocationPolicy):
    """Vanilla LaMOO: every GPU trains LaMOO's proposals from scratch; no supernet."""

    name = "vanilla"
    screening = False

    def decide(self, observation: Observation) -> Allocation:
        return Allocation(evaluation=observation.gpus, sampling=0)


class StaticPolicy(AllocationPolicy):
    """A fixed split: `evaluation_gpus` evaluate, the rest sample."""

    def __init__(self, evaluation_gpus: int, name: str | None = None) -> None:
        if evaluation_gpus < 0:
            raise ValueError(f"static policy needs evaluation_gpus >= 0, got {evaluation_gpus}")
        self.evaluation_gpus = evaluation_gpus
        self.name = name or f"static:{evaluation_gpus}"

    def reset(self, context: EpisodeContext) -> None:
        if self.evaluation_gpus > context.gpus:
            raise UnknownPolicyError(f"policy {self.name}: {self.evaluation_gpus} evaluation GPUs but the pool has {context.gpus}")
        super().reset(context)

    def decide(self, observation: Observation) -> Allocation:
        return Allocation(evaluation=self.evaluation_gpus, sampling=observation.gpus - self.evaluation_gpus)


class OneShotPolicy(StaticPolicy):
    """One-shot LaMOO: the supernet does nearly everything; one GPU confirms the best."""

    def __init__(self) -> None:
        super().__init__(1, name="oneshot")


class HeuristicPolicy(AllocationPolicy):
    """Carbon-threshold rule.

    If the current intensity is at or below the median of the trailing 24 hours (the
    current hour included; no future knowledge), the hour counts as clean: all GPUs but
    one evaluate and one keeps the queue fed. Otherwise it is dirty: one GPU evaluates,
    the rest sample.
    """

    name = "heuristic"

    def decide(self, observation: Observation) -> Allocation:
        gpus = observation.gpus
        clean = observation.intensity <= float(np.median(observation.intensity_history))
        evaluation = max(gpus - 1, 1) if clean else 1
        evaluation = min(evaluation, gpus)
        return Allocation(evaluation=evaluation, sampling=gpus - evaluation)


PolicyFactory = Callable[[], AllocationPolicy]
POLICIES: dict[str, PolicyFactory] = {
    "vanilla": VanillaPolicy,
    "oneshot": OneShotPolicy,
    "heuristic": HeuristicPolicy,
}


def register_policy(name: str, factory: PolicyFactory) -> None:
    """Extension point: the scheduler service registers `rl`, `mpc` and `oracle` here."""
    POLICIES[name] = factory


def make_policy(name: str) -> AllocationPolicy:
    """A fresh policy from its name: a registered name or `static:K`."""
    if name.startswith("static:"):
        value = name.partition(":")[2]
        if not value.isdigit():
            raise UnknownPolicyError(f"policy {name!r}: K in static:K must be a non-negative integer")
        return StaticPolicy(int(value))
    try:
        return POLICIES[name]()
    except KeyError:
        choices = ", ".join([*POLICIES, "static:K"])
        raise UnknownPolicyError(f"unknown policy {name!r}; choose one of {choices}") from None
