"""How long LaMOO's fit() + ask() take at the simulator's scale.

    python benchmarks/lamoo_speed.py [--told 800] [--ask 1500] [--repeats 7] [--kernel rbf]

1. One fit() + ask(n) with `--told` samples: the samples come from a LaMOO(random) search on
   NAS-Bench-201 in batches of 10 (so the tree has the shape a search gives it); the median
   of `--repeats` timings of fit() and of ask() is printed.
2. An episode-like sequence: 80 rounds of tell(up to told/80 codes LaMOO asked for), fit(),
   ask(n); the total seconds of all fits and asks (the simulator calls fit at most once per
   simulated hour and asks for up to ~1,500 screening candidates per hour).

Both wall-clock and CPU seconds of this process are printed: on a shared machine the wall
time includes waiting for a core, the CPU time does not. Run with OPENBLAS_NUM_THREADS=1
for a single-threaded figure (torch is set to one thread here).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from cenas.tasks import NB201Problem
from optimizer_svc.lamoo import LaMOO, LaMOOConfig

ROUNDS = 80


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--told", type=int, default=800)
    parser.add_argument("--ask", type=int, default=1500)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--kernel", choices=["rbf", "poly"], default="rbf")
    args = parser.parse_args()
    torch.set_num_threads(1)
    problem = NB201Problem()
    config = LaMOOConfig(kernel=args.kernel, max_hypervolume=problem.max_hypervolume)

    opt = LaMOO(problem.space, problem.ref_point, config, seed=0)
    while opt.n_samples < args.told:
        opt.fit()
        codes = opt.ask(min(10, args.told - opt.n_samples))
        opt.tell(codes, problem.true_values(codes))
    timings: dict[str, list[float]] = {"fit wall": [], "ask wall": [], "fit cpu": [], "ask cpu": []}
    returned = 0
    for _ in range(args.repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        opt.fit()
        fit_wall, fit_cpu = time.perf_counter(), time.process_time()
        returned = len(opt.ask(args.ask))
        timings["ask wall"].append(time.perf_counter() - fit_wall)
        timings["ask cpu"].append(time.process_time() - fit_cpu)
        timings["fit wall"].append(fit_wall - wall)
        timings["fit cpu"].append(fit_cpu - cpu)
    ms = {key: 1e3 * statistics.median(values) for key, values in timings.items()}
    region = opt.region
    free = len(region.members()) - int(np.isin(region.members(), opt.samples[0]).sum())
    print(
        f"{opt.n_samples} told, kernel {args.kernel}, medians of {args.repeats}: "
        f"fit {ms['fit wall']:.1f} ms wall / {ms['fit cpu']:.1f} ms cpu, "
        f"ask({args.ask}) {ms['ask wall']:.1f} ms wall / {ms['ask cpu']:.1f} ms cpu, "
        f"fit + ask {ms['fit wall'] + ms['ask wall']:.1f} ms wall / {ms['fit cpu'] + ms['ask cpu']:.1f} ms cpu"
    )
    print(
        f"  selected region: depth {region.depth}, {len(region.members())} codes, {free} not told; "
        f"ask returned {returned}"
    )

    episode = LaMOO(problem.space, problem.ref_point, config, seed=1)
    per_round = max(args.told // ROUNDS, 1)
    wall = cpu = 0.0
    for _ in range(ROUNDS):
        codes = episode.ask(per_round)
        episode.tell(codes, problem.true_values(codes))
        began, began_cpu = time.perf_counter(), time.process_time()
        episode.fit()
        episode.ask(args.ask)
        wall += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
    print(
        f"episode: {ROUNDS} x (fit + ask({args.ask})) growing to {episode.n_samples} told: "
        f"{wall:.2f} s wall / {cpu:.2f} s cpu in total"
    )


if __name__ == "__main__":
    main()
