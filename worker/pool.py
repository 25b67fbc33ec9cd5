"""Which worker holds which role: the pool controller's pure assignment rule.

Moves as few workers as possible: a worker keeps its role while that role still needs it;
shortfalls are filled from parked workers first, then from roles with a surplus. Which
holders of a shrinking role keep it follows `keep_order` (the controller keeps evaluation
workers whose run is within its search's grant, and moves idle ones before it pauses a
run); ties go by worker name, so every controller instance computes the same assignment.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum


class Role(str, Enum):
    EVALUATION = "evaluation"
    SAMPLING = "sampling"
    PARKED = "parked"


def wanted_roles(pool: int, evaluation: int, sampling: int) -> dict[Role, int]:
    """Cap the summed requests at the pool: evaluation first, then sampling."""
    e = min(evaluation, pool)
    s = min(sampling, pool - e)
    return {Role.EVALUATION: e, Role.SAMPLING: s, Role.PARKED: pool - e - s}


def assign(workers: list[str], current: dict[str, Role], evaluation: int, sampling: int,
           keep_order: Callable[[str], tuple] | None = None) -> dict[str, Role]:
    """The role of every worker; of the current holders of a role, those first in
    ``keep_order`` (a sort key; default: the name) keep it."""
    names = sorted(workers)
    targets = wanted_roles(len(names), evaluation, sampling)
    result: dict[str, Role] = {}
    for role in (Role.EVALUATION, Role.SAMPLING):
        holders = [w for w in names if current.get(w, Role.PARKED) == role]
        if keep_order is not None:
            holders.sort(key=lambda w: (keep_order(w), w))
        for w in holders[: targets[role]]:
            result[w] = role
    free = [w for w in names if w not in result]
    free.sort(key=lambda w: (current.get(w, Role.PARKED) != Role.PARKED, w))  # parked ones move first
    for role in (Role.EVALUATION, Role.SAMPLING):
        missing = targets[role] - sum(1 for r in result.values() if r == role)
        for w in free[:missing]:
            result[w] = role
        free = free[max(missing, 0):]
    for w in free:
        result[w] = Role.PARKED
    return result
