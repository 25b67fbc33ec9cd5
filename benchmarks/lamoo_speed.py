"""How long LaMOO's fit() + ask() take at the simulator's scale.

    python benchmarks/lamoo_speed.py [--told 800] [--ask 1500] [--repeats 7] [--kernel rbf]

1. One fit() + ask(n) with `--told` samples: the samples come from a LaMOO(random) search on
   NAS-Bench-201 in batches of 10 (so the tree has the shape a search gives it); the median
   of `--repeats` timings of fit() and of ask() is printed.
2. An episode-like sequence: 80 rounds of tell(told/80 new codes), fit(), ask(n); the total
   seconds of all fits and asks (the simulator calls fit at most once per simulated hour and
   asks for up to ~1,500 screening candidates per hour).
"""

from __future__ import annotations

import argparse
import statistics
import time

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
    fits, asks, returned = [], [], 0
    for _ in range(args.repeats):
        began = time.perf_counter()
        opt.fit()
        fitted = time.perf_counter()
        returned = len(opt.ask(args.ask))
        asks.append(time.perf_counter() - fitted)
        fits.append(fitted - began)
    print(
        f"{args.told} told, kernel {args.kernel}: fit {1e3 * statistics.median(fits):.1f} ms, "
        f"ask({args.ask}) {1e3 * statistics.median(asks):.1f} ms (returned {returned}; region depth "
        f"{opt.region.depth}, {len(opt.region.members())} codes of which {opt.region.node.n} told), "
        f"fit + ask {1e3 * (statistics.median(fits) + statistics.median(asks)):.1f} ms (medians of {args.repeats})"
    )

    episode = LaMOO(problem.space, problem.ref_point, config, seed=1)
    per_round = max(args.told // ROUNDS, 1)
    spent = 0.0
    for _ in range(ROUNDS):
        codes = episode.ask(per_round)
        episode.tell(codes, problem.true_values(codes))
        began = time.perf_counter()
        episode.fit()
        episode.ask(args.ask)
        spent += time.perf_counter() - began
    print(f"episode: {ROUNDS} x (fit + ask({args.ask})) growing to {episode.n_samples} told: {spent:.2f} s in total")


if __name__ == "__main__":
    main()
