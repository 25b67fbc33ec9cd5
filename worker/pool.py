"""Which worker holds which role: the pool controller's pure assignment rule.

Moves as few workers as possible: a worker keeps its role while that role still needs it;
shortfalls are filled from parked workers first, then from roles with a surplus. Ties go
by worker name, so every controller instance computes the same assignment.
"""

from __future__ import annotations

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


def assign(workers: list[str], current: dict[str, Role], evaluation: int, sampling: int) -> dict[str, Role]:
    names = sorted(workers)
    targets = wanted_roles(len(names), evaluation, sampling)
    result: dict[str, Role] = {}
    for role in (Role.EVALUATION, Role.SAMPLING):
        holders = [w for w in names if current.get(w, Role.PARKED) == role]
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
