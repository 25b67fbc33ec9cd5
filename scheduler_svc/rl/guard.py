"""The carbon envelope: how far a learned policy may stray from its planner.

Why: a network's mistakes are not bounded by anything it was trained on, and a user
running it on a grid unlike any in training needs a promise. Each hour the planner
(`mpc`, at its own settings) decides on the same observation as the policy; the
envelope charges the policy the difference between the two allocations' planned carbon
for that hour. The policy's choice stands while the running excess stays within
`budget_g`; otherwise the hour runs the planner's allocation.

The bound: over any search, the policy's planned carbon is at most the planner's
allocations' planned carbon on the same hours plus `budget_g`. Savings bank: hours where
the policy spends less than the planner may be spent later. `budget_g` defaults to one
hour of the whole pool evaluating at the trailing day's mean intensity
(`GUARD_POOL_HOURS`).
"""

from __future__ import annotations

from cenas.carbon.accounting import PowerModel
from scheduler_svc.simulator.allocation import Allocation

GUARD_POOL_HOURS = 1.0


def planned_carbon_g(allocation: Allocation, power: PowerModel, intensity: float) -> float:
    """One hour of `allocation` at `intensity` (every GPU drawing its role's power)."""
    return power.carbon_g(allocation.watts(power) / 1000.0, intensity)


def pool_hour_g(power: PowerModel, gpus: int, intensity: float, pool_hours: float = GUARD_POOL_HOURS) -> float:
    return pool_hours * power.carbon_g(gpus * power.evaluation_w / 1000.0, intensity)


class CarbonEnvelope:
    """Admits a policy's allocation only while its excess over the planner fits the budget."""

    def __init__(self, power: PowerModel, budget_g: float) -> None:
        if budget_g < 0:
            raise ValueError(f"budget_g must be >= 0, got {budget_g}")
        self.power = power
        self.budget_g = budget_g
        self.excess_g = 0.0
        self.overrides = 0

    def admit(self, chosen: Allocation, planner: Allocation, intensity: float) -> Allocation:
        extra = planned_carbon_g(chosen, self.power, intensity) - planned_carbon_g(planner, self.power, intensity)
        if self.excess_g + extra > self.budget_g + 1e-9:
            self.overrides += 1
            return planner
        self.excess_g += extra
        return chosen
