"""Vanilla NAS on a search's own setting, in the simulator: the curve CE-NAS is judged against.

A user watching a search wants to see how much carbon vanilla NAS (every GPU trains the
optimizer's proposals from scratch, no supernet) would have spent for the same
hypervolume. The simulator can replay that only for a replayed `nb201` search: its
problem is a table lookup and its carbon is a bundled trace. The proposer comes from the
composition root (`cenas demo` passes the optimizer service's LaMOO), which also stores
the curve (`cenas.db.baselines`) for the dashboard to draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cenas.db.baselines import VanillaBaselineRecord
from cenas.search.proposers import ProposerFactory
from scheduler_svc.simulator.results import EpisodeResult

POLICY = "vanilla"


def unavailable_reason(spec: dict) -> str | None:
    """Why the simulator cannot replay vanilla NAS for ``spec`` (None: it can)."""
    if spec.get("task", {}).get("kind", "nb201") != "nb201":
        return "the simulator replays only nb201 searches (a torch search trains real networks)"
    if spec.get("carbon", {}).get("signal", "replay") != "replay":
        return "a live search has no replayed trace to simulate vanilla NAS on"
    if spec.get("budget", {}).get("hours") is None:
        return "vanilla NAS is simulated over the search's time budget, and this search has none"
    return None


def budget_hours(spec: dict) -> int:
    """Whole trace hours of the spec's time budget (vanilla simulates as many)."""
    return max(1, math.ceil(spec["budget"]["hours"]))


@dataclass(frozen=True)
class VanillaRun:
    result: EpisodeResult
    ref_point: np.ndarray  # the problem's, maximised orientation: the hypervolumes' reference


def simulate_vanilla(spec: dict, hours: int, proposer_factory: ProposerFactory | None = None) -> VanillaRun | None:
    """Vanilla NAS in the simulator on the search's problem, trace, start, GPUs, accounting
    and optimizer seed, proposals from ``proposer_factory``; None for a task the simulator
    cannot replay (`torch`)."""
    from cenas.search.context import build_context
    from cenas.tasks.nb201 import NB201Problem
    from scheduler_svc.simulator.engine import HISTORY_HOURS, SimulationConfig, run_episode
    from scheduler_svc.simulator.policies import make_policy

    ctx = build_context(POLICY, spec, None)
    if not isinstance(ctx.problem, NB201Problem):
        return None
    s = ctx.spec
    window = ctx.trace.window(s.carbon.start or ctx.trace.start, hours)
    history = ctx.trace.values[max(0, ctx.first_index - HISTORY_HOURS) : ctx.first_index]
    config = SimulationConfig(gpus=s.gpus, hours=hours, power=ctx.power, carbon_cap_g=s.budget.carbon_g)
    result = run_episode(ctx.problem, window, make_policy(POLICY), config, seed=s.optimizer.seed,
                         history=history, proposer_factory=proposer_factory)
    return VanillaRun(result, np.asarray(ctx.problem.ref_point, dtype=np.float64))


def curve_points(result: EpisodeResult, ref: np.ndarray) -> list[dict]:
    """The episode as the gateway builds a search's curve: one point per evaluation in the
    order they finished, with the hypervolume of all finished by then and the grams spent
    by then (linear within each simulated hour), then every hour's end."""
    from cenas.pareto import hypervolume

    hours = np.array([r.hour for r in result.rows], dtype=np.float64)
    carbon = np.array([r.carbon_g for r in result.rows], dtype=np.float64)
    done = sorted(result.evaluations, key=lambda e: e.finished_hour)
    values = np.array([e.values for e in done], dtype=np.float64).reshape(len(done), -1)
    points = [{"hours": float(e.finished_hour), "evaluations": i + 1, "hypervolume": float(hypervolume(values[: i + 1], ref)),
               "carbon_g": float(np.interp(e.finished_hour, hours, carbon))} for i, e in enumerate(done)]
    points += [{"hours": float(r.hour), "evaluations": r.evaluations, "hypervolume": float(r.hypervolume), "carbon_g": float(r.carbon_g)}
               for r in result.rows]
    points.sort(key=lambda p: (p["hours"], p["evaluations"]))
    return points


def baseline_record(search_id: str, run: VanillaRun) -> VanillaBaselineRecord:
    """The simulated run as the row the gateway serves with the search's curve."""
    result = run.result
    return VanillaBaselineRecord(search_id=search_id, points=curve_points(result, run.ref_point), hours=len(result.rows) - 1,
                                 seed=result.seed, final_hypervolume=float(result.final_hypervolume), carbon_g=float(result.carbon_g),
                                 energy_kwh=float(result.energy_kwh), evaluations=len(result.evaluations))


def vanilla_baseline(search_id: str, spec: dict, proposer_factory: ProposerFactory | None = None) -> VanillaBaselineRecord:
    """What the baseline store keeps for ``spec``: the simulated curve, or why there is none."""
    reason = unavailable_reason(spec)
    run = None if reason is not None else simulate_vanilla(spec, budget_hours(spec), proposer_factory)
    if run is None:
        return VanillaBaselineRecord(search_id=search_id, reason=reason or "the simulator cannot replay this task")
    return baseline_record(search_id, run)
