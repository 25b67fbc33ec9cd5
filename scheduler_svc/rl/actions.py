"""The action space: GPU fractions for evaluation and sampling, the rest idle.

Fractions (not GPU counts) so one policy serves any pool size. Idling is our addition to
the paper (whose agent always uses every GPU): under full accounting an idle GPU costs
a sixth of an evaluating one, so parking GPUs through dirty hours can pay.
"""

from __future__ import annotations

from scheduler_svc.simulator.allocation import Allocation

_LEVELS = (0.0, 0.125, 0.25, 0.5, 0.75, 1.0)

#: (evaluation fraction, sampling fraction) per discrete action; 24 pairs with sum <= 1.
ACTIONS: tuple[tuple[float, float], ...] = tuple(
    (e, s) for e in _LEVELS for s in _LEVELS if e + s <= 1.0 + 1e-9
)


def fractions_to_allocation(evaluation: float, sampling: float, gpus: int) -> Allocation:
    """Round fractions of a `gpus` pool to counts: a non-zero fraction gets at least one
    GPU; when rounding overflows the pool, sampling gives way first."""
    if gpus < 1:
        raise ValueError(f"gpus must be >= 1, got {gpus}")
    e = max(1, round(evaluation * gpus)) if evaluation > 0 else 0
    s = max(1, round(sampling * gpus)) if sampling > 0 else 0
    e = min(e, gpus)
    s = min(s, gpus - e)
    return Allocation(evaluation=e, sampling=s, idle=gpus - e - s)


def action_to_allocation(action: int, gpus: int) -> Allocation:
    if not 0 <= int(action) < len(ACTIONS):
        raise ValueError(f"action must be in 0..{len(ACTIONS) - 1}, got {action}")
    evaluation, sampling = ACTIONS[int(action)]
    return fractions_to_allocation(evaluation, sampling, gpus)
