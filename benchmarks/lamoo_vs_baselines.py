"""LaMOO against random search, NSGA-II and multi-objective TPE on NAS-Bench-201.

    python benchmarks/lamoo_vs_baselines.py [--seeds 10] [--budgets 100 200 400]
        [--methods lamoo-random lamoo-qnehvi random nsga2 tpe] [--out bench-out/lamoo_vs_baselines.json]

Problem: `NB201Problem()`, CIFAR-10 test accuracy (max) vs HW-NAS-Bench edge-GPU energy (min),
hypervolume reference (0 %, 50 mJ); the whole table's front has hypervolume 4155.37.

Every method gets the same evaluation budgets and seeds 0..seeds-1. One run per (method,
seed) goes to the largest budget and its hypervolume is read after the first b evaluations
for every budget b: none of the methods looks at the budget, so this equals separate runs.

* lamoo-random / lamoo-qnehvi: `LaMOO` with the paper's settings (leaf >= 10, height 3,
  Cp = 10 % of the known maximum hypervolume), 10 codes asked before any fit (the whole
  space: uniform), then fit + ask in batches of `--batch` (10; qnehvi uses `--qnehvi-batch`,
  also 10 by default). Asks never repeat an architecture.
* random: distinct architectures, uniformly without replacement.
* nsga2 / tpe: Optuna `NSGAIISampler` / `TPESampler(multivariate=True)` on 6 categorical
  parameters (the op of each edge). Every trial counts as one evaluation, also when it
  repeats an architecture it already evaluated (a real search would pay again or must
  deduplicate; we report how many distinct architectures each run saw).

Prints median hypervolume and median fraction of the maximum per (method, budget) and writes
every run's numbers as JSON to `--out`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import optuna
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cenas.pareto import hypervolume
from cenas.tasks import NB201Problem
from cenas.tasks.space import NB201_OPS
from optimizer_svc.lamoo import LaMOO, LaMOOConfig

METHODS = ("lamoo-random", "lamoo-qnehvi", "random", "nsga2", "tpe")
INITIAL = 10

Run = Callable[[NB201Problem, int, int, argparse.Namespace], np.ndarray]


def run_lamoo(sampler: str) -> Run:
    def run(problem: NB201Problem, seed: int, budget: int, args: argparse.Namespace) -> np.ndarray:
        config = LaMOOConfig(sampler=sampler, max_hypervolume=problem.max_hypervolume)  # type: ignore[arg-type]
        opt = LaMOO(problem.space, problem.ref_point, config, seed=seed)
        batch = args.qnehvi_batch if sampler == "qnehvi" else args.batch
        codes = opt.ask(min(INITIAL, budget))
        opt.tell(codes, problem.true_values(codes))
        while opt.n_samples < budget:
            opt.fit()
            codes = opt.ask(min(batch, budget - opt.n_samples))
            if len(codes) == 0:
                break  # the whole space is evaluated
            opt.tell(codes, problem.true_values(codes))
        return opt.samples[0]

    return run


def run_random(problem: NB201Problem, seed: int, budget: int, args: argparse.Namespace) -> np.ndarray:
    return np.random.default_rng(seed).choice(problem.space.valid_codes(), budget, replace=False)


def run_optuna(kind: str) -> Run:
    def run(problem: NB201Problem, seed: int, budget: int, args: argparse.Namespace) -> np.ndarray:
        if kind == "nsga2":
            sampler: optuna.samplers.BaseSampler = optuna.samplers.NSGAIISampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True)
        study = optuna.create_study(directions=["maximize", "maximize"], sampler=sampler)
        codes: list[int] = []

        def objective(trial: optuna.Trial) -> tuple[float, float]:
            ops = [NB201_OPS.index(trial.suggest_categorical(f"edge{i}", NB201_OPS)) for i in range(problem.space.n_edges)]
            code = int(problem.space.encode(np.array([ops]))[0])
            codes.append(code)
            accuracy, neg_energy = problem.true_values(np.array([code]))[0]
            return float(accuracy), float(neg_energy)

        study.optimize(objective, n_trials=budget)
        return np.array(codes, dtype=np.int64)

    return run


RUNNERS: dict[str, Run] = {
    "lamoo-random": run_lamoo("random"),
    "lamoo-qnehvi": run_lamoo("qnehvi"),
    "random": run_random,
    "nsga2": run_optuna("nsga2"),
    "tpe": run_optuna("tpe"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 200, 400])
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--batch", type=int, default=10, help="LaMOO(random) evaluations per fit")
    parser.add_argument("--qnehvi-batch", type=int, default=10, help="LaMOO(qnehvi) evaluations per fit")
    parser.add_argument("--out", type=Path, default=Path("bench-out/lamoo_vs_baselines.json"))
    args = parser.parse_args()
    if args.seeds < 1 or min(args.budgets) < 1 or args.batch < 1 or args.qnehvi_batch < 1:
        parser.error("seeds, budgets and batch sizes must be >= 1")
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

    console = Console()
    problem = NB201Problem()
    max_hv = problem.max_hypervolume
    budgets = sorted(set(args.budgets))
    runs: list[dict[str, object]] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("runs", total=len(args.methods) * args.seeds)
        for method in args.methods:
            for seed in range(args.seeds):
                progress.update(task, description=f"{method} seed {seed}")
                began = time.perf_counter()
                codes = RUNNERS[method](problem, seed, budgets[-1], args)
                seconds = time.perf_counter() - began
                values = problem.true_values(codes)
                hv = {b: hypervolume(values[:b], problem.ref_point) for b in budgets}
                runs.append({
                    "method": method, "seed": seed, "seconds": seconds, "evaluations": len(codes),
                    "distinct": {b: len(np.unique(codes[:b])) for b in budgets},
                    "hypervolume": hv,
                })
                progress.advance(task)
                # one line per run, also when stdout is not a terminal (the bar is not drawn then)
                progress.console.log(f"{method} seed {seed}: {seconds:.1f} s, hypervolume {hv}")

    summary: dict[str, dict[int, dict[str, float]]] = {}
    for method in args.methods:
        mine = [r for r in runs if r["method"] == method]
        summary[method] = {
            b: {
                "median_hypervolume": statistics.median(r["hypervolume"][b] for r in mine),  # type: ignore[index]
                "median_fraction_of_max": statistics.median(r["hypervolume"][b] for r in mine) / max_hv,  # type: ignore[index]
                "median_distinct": statistics.median(r["distinct"][b] for r in mine),  # type: ignore[index]
                "median_seconds_per_run": statistics.median(r["seconds"] for r in mine),  # type: ignore[misc]
            }
            for b in budgets
        }

    table = Table(title=f"median hypervolume over {args.seeds} seeds (fraction of max {max_hv:.2f})")
    table.add_column("method")
    for b in budgets:
        table.add_column(f"{b} evals", justify="right")
    table.add_column("s/run", justify="right")
    for method, by_budget in summary.items():
        cells = [f"{s['median_hypervolume']:.1f} ({s['median_fraction_of_max']:.4f})" for s in by_budget.values()]
        table.add_row(method, *cells, f"{by_budget[budgets[-1]]['median_seconds_per_run']:.1f}")
    console.print(table)
    for method in ("nsga2", "tpe"):
        if method in summary:
            distinct = ", ".join(f"{b}: {s['median_distinct']:.0f}" for b, s in summary[method].items())
            console.print(f"{method}: median distinct architectures per budget {distinct}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "problem": problem.name, "ref_point": problem.ref_point.tolist(), "max_hypervolume": max_hv,
        "seeds": args.seeds, "budgets": budgets, "batch": args.batch, "qnehvi_batch": args.qnehvi_batch,
        "initial_random": INITIAL, "summary": summary, "runs": runs,
    }
    args.out.write_text(json.dumps(payload, indent=1))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
