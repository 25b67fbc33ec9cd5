"""What a spec's budget means in wall-clock time, and whether it can buy any result."""

from __future__ import annotations

from cenas.spec import SearchSpec
from cenas.tasks.torch.problem import first_result_s


def budget_wall_seconds(spec: SearchSpec) -> float | None:
    """Real seconds the time budget lasts (replay: trace hours x seconds per hour; live: hours)."""
    if spec.budget.hours is None:
        return None
    per_hour = spec.carbon.seconds_per_hour if spec.carbon.signal == "replay" else 3600.0
    return spec.budget.hours * per_hour


def short_budget_warning(spec: SearchSpec) -> str | None:
    """A sentence when a torch search's budget is likely over before one evaluation finishes."""
    seconds = budget_wall_seconds(spec)
    if spec.task.kind != "torch" or seconds is None:
        return None
    needed = first_result_s(spec.task.dataset, spec.task.epochs or 1)
    if seconds >= needed:
        return None
    return (f"the budget lasts {seconds:.0f} s of wall time, but a {spec.task.dataset} search needs about {needed:.0f} s "
            f"(its supernet, then {spec.task.epochs} epochs of one candidate) before its first evaluation can finish; "
            "it will likely end with an empty Pareto front (raise budget.hours or carbon.seconds_per_hour, or lower task.epochs)")
