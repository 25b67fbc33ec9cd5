"""Wall time of one simulated episode per policy, and where the time goes.

    python benchmarks/simulator_speed.py [--repeats 5] [--optimizer lamoo|random] [--profile heuristic]

Prints the median seconds per 80-hour, 8-GPU episode at the paper's setting for each
policy, next to the same episode with random search as the optimizer (the baseline the
LaMOO overhead is measured against, run side by side in this process), and a cProfile
summary of one episode. Target: <= 5 s per episode on a 2-core machine.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import time
from datetime import datetime, timezone

import torch

from cenas.carbon import ACCOUNTING_PRESETS, load_region
from cenas.tasks import NB201Problem
from cenas_cli.bench import Optimizer, Sampler, proposer_factory
from scheduler_svc.simulator.engine import HISTORY_HOURS, SimulationConfig, run_episode
from scheduler_svc.simulator.policies import make_policy

START = datetime(2021, 7, 2, 6, tzinfo=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--policies", nargs="+", default=["vanilla", "oneshot", "heuristic", "static:4"])
    parser.add_argument("--profile", default="heuristic", help="policy to profile (empty: none)")
    args = parser.parse_args()
    torch.set_num_threads(1)

    problem = NB201Problem()
    problem.max_hypervolume  # computed once, outside the timings
    trace = load_region("US-CAL-CISO")
    first = trace.index_of(START)
    window, history = trace.window(START, 80), trace.values[first - HISTORY_HOURS : first]
    config = SimulationConfig(gpus=8, hours=80, power=ACCOUNTING_PRESETS["full"])
    factories = {
        "lamoo": proposer_factory(Optimizer.lamoo, Sampler.random, problem.max_hypervolume),
        "random": proposer_factory(Optimizer.random, Sampler.random, problem.max_hypervolume),
    }

    def episode(policy: str, optimizer: str, seed: int) -> float:
        began = time.perf_counter()
        run_episode(problem, window, make_policy(policy), config, seed=seed, history=history, proposer_factory=factories[optimizer])
        return time.perf_counter() - began

    print(f"{'policy':<12}{'lamoo s/episode':>18}{'random s/episode':>18}{'ratio':>8}")
    for policy in args.policies:
        medians = {}
        for optimizer in factories:
            medians[optimizer] = statistics.median(episode(policy, optimizer, seed) for seed in range(args.repeats))
        print(f"{policy:<12}{medians['lamoo']:>18.2f}{medians['random']:>18.2f}{medians['lamoo'] / medians['random']:>8.1f}")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        episode(args.profile, "lamoo", 0)
        profiler.disable()
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(18)
        print(f"\nprofile of one {args.profile} episode (LaMOO, cumulative time):")
        print(buffer.getvalue())


if __name__ == "__main__":
    main()
