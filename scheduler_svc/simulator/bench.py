"""Policy comparisons in the simulator: many (policy, seed) episodes and their summary.

Pure: no files, no printing. The CLI composes a problem, a trace and an optimizer factory
and hands them here; `report.py` turns the summary into files and plots.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from cenas.carbon.accounting import PowerModel
from cenas.carbon.traces import CarbonTrace
from cenas.tasks.nb201 import NB201Problem
from scheduler_svc.simulator.engine import HISTORY_HOURS, SimulationConfig, run_episode
from scheduler_svc.simulator.forecasts import episode_forecast, make_forecast_source
from scheduler_svc.simulator.policies import make_policy
from cenas.search.proposers import ProposerFactory
from scheduler_svc.simulator.results import EpisodeResult

#: Fractions of the problem's maximum hypervolume whose cost we report. Lower ones are
#: reached within the first hours by any policy and say little.
TARGET_FRACTIONS = (0.99, 0.995)


@dataclass(frozen=True)
class BenchSetup:
    problem: NB201Problem
    trace: CarbonTrace
    start: datetime
    policies: Sequence[str]
    seeds: int
    config: SimulationConfig
    accounting: str
    proposer_factory: ProposerFactory
    optimizer: str = "lamoo"
    #: seeds run are seed_offset .. seed_offset + seeds - 1 (a grid gives each cell its own)
    seed_offset: int = 0

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {self.seeds}")
        for name in self.policies:
            make_policy(name)  # fail before any run on a bad name


def episodes(setup: BenchSetup) -> Iterator[EpisodeResult]:
    """Every (policy, seed) episode, in order; seeds are shared across policies (paired runs)."""
    first = setup.trace.index_of(setup.start)
    window = setup.trace.window(setup.start, setup.config.hours)
    history = setup.trace.values[max(0, first - HISTORY_HOURS) : first]
    for name in setup.policies:
        for seed in range(setup.seed_offset, setup.seed_offset + setup.seeds):
            policy = make_policy(name)
            forecast = None
            if policy.forecast_source is not None:  # issued hourly from the full trace
                source = make_forecast_source(policy.forecast_source, seed)
                forecast = episode_forecast(source, setup.trace.values, first, policy.forecast_horizon)
            yield run_episode(
                setup.problem, window, policy, setup.config,
                seed=seed, history=history, proposer_factory=setup.proposer_factory, forecast=forecast,
            )


def _median_or_none(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def aggregate(results: Sequence[EpisodeResult], max_hv: float) -> list[dict]:
    """Per policy: medians over seeds, and the cost of reaching each target fraction."""
    out = []
    for name in dict.fromkeys(r.policy for r in results):
        runs = [r for r in results if r.policy == name]
        entry: dict = {
            "policy": name,
            "runs": len(runs),
            "median_final_hypervolume": float(np.median([r.final_hypervolume for r in runs])),
            "median_carbon_g": float(np.median([r.carbon_g for r in runs])),
            "median_energy_kwh": float(np.median([r.energy_kwh for r in runs])),
            "median_evaluations": float(np.median([len(r.evaluations) for r in runs])),
            "targets": [],
        }
        for fraction in TARGET_FRACTIONS:
            reached = [hit for r in runs if (hit := r.first_reaching(fraction * max_hv)) is not None]
            entry["targets"].append({
                "fraction": fraction,
                "reached": len(reached),
                # median over the runs that reached it; `reached` says how many did
                "median_hours": _median_or_none([h for h, _ in reached]),
                "median_carbon_g": _median_or_none([c for _, c in reached]),
            })
        out.append(entry)
    return out


def summarize(setup: BenchSetup, results: Sequence[EpisodeResult], power: PowerModel) -> dict:
    """The `summary.json` document (API.md), with per-policy aggregates added."""
    max_hv = setup.problem.max_hypervolume
    return {
        "problem": setup.problem.name,
        "region": setup.trace.name,
        "start": f"{setup.start:%Y-%m-%dT%H:%M:%SZ}",
        "gpus": setup.config.gpus,
        "hours": setup.config.hours,
        "accounting": setup.accounting,
        "power_model": {"evaluation_w": power.evaluation_w, "sampling_w": power.sampling_w, "idle_w": power.idle_w, "pue": power.pue},
        "carbon_cap_g": setup.config.carbon_cap_g,
        "optimizer": setup.optimizer,
        "queue_rule": setup.config.queue_rule,
        "max_hypervolume": max_hv,
        "reference_point": [float(o.sign * r) for o, r in zip(setup.problem.objectives, setup.problem.ref_point)],
        "aggregates": aggregate(results, max_hv),
        "runs": [r.to_summary_run() for r in results],
    }


ProgressCallback = Callable[[EpisodeResult], None]


def run_bench(setup: BenchSetup, on_episode: ProgressCallback | None = None) -> dict:
    results = []
    for result in episodes(setup):
        results.append(result)
        if on_episode:
            on_episode(result)
    return summarize(setup, results, setup.config.power)
