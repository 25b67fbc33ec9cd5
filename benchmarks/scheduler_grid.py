"""The scheduler comparison grid of issue 4: policies x regions x start dates x seeds.

    python benchmarks/scheduler_grid.py [--accounting full|paper] [--regions ...]
        [--starts 10] [--seeds 5] [--caps 5000 10000 ...] [--optimizer random|lamoo]
        [--policies rl mpc oracle heuristic oneshot vanilla] [--json out.json]
        [--rl-policy FILE.zip] [--jobs 2] [--year 2023]
        [--leave-one-out DIR] [--synthetic]

Runs `cenas bench`'s own code path (BenchSetup / bench.episodes) for 8 GPUs x 80 h at
`--starts` dates spread evenly over 2023 (06:00 UTC; never used in training) in each
region, and prints per region and overall:
* median grams of CO2 to reach 99 % of the maximum hypervolume (runs that never reach
  it count as infinite, censored rather than dropped, so a median is finite only if most
  runs reached it; `n/N` says how many did), its 95 % bootstrap interval and how many
  independent searches the table holds (each (region, start) cell draws its own seeds,
  shared by its policies: `--shared-seeds` reproduces the earlier seeds 0..N-1 everywhere),
  and median final hypervolume;
* the issue's checks: rl below every non-oracle baseline's grams, rl's final HV within
  1 % of vanilla's, and the share of the vanilla-to-oracle gap rl closes;
* with --accounting paper: the reduction factor vanilla grams / policy grams at 99 %;
* with --caps: median final hypervolume per policy under each carbon cap;
* each policy's decision latency (mean per `decide` call, measured on one episode).

`--leave-one-out DIR` is issue 18's test: in each region `rl` is `DIR/ppo_without_<REGION>.zip`,
a policy trained without that region (`cenas scheduler train --hold-out REGION`).
`--synthetic` replaces the regions with the synthetic test grids (`cenas.carbon.synthetic`:
five families x 2 grids from seeds no training draw can produce), so the shipped policy
is tested on grids it never saw.

`--rl-policy` evaluates another policy file as `rl` (e.g. a candidate before it replaces
the shipped one); `--jobs` runs (region, start) cells in that many processes (results are
identical to a serial run: every episode's seeds are fixed). `--year 2022` moves the start
dates into the training window: a validation grid for choosing between candidate policies
(checkpoints, recipes) without looking at the held-out 2023 results.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from multiprocessing import get_context
from datetime import datetime, timedelta, timezone

import numpy as np
import torch

import scheduler_svc.rl  # noqa: F401  registers rl, mpc, oracle
from cenas.carbon import BUNDLED_REGIONS, accounting_preset, load_region
from cenas.carbon.synthetic import TEST_GRIDS, is_test_grid, load_test_grid
from cenas.tasks import NB201Problem
from cenas_cli.bench import Optimizer, Sampler, proposer_factory
from scheduler_svc.simulator.bench import BenchSetup, episodes
from scheduler_svc.simulator.engine import HISTORY_HOURS, SimulationConfig, run_episode
from scheduler_svc.simulator.forecasts import episode_forecast, make_forecast_source
from scheduler_svc.rl.policy import RLPolicy, shipped_policy_path
from scheduler_svc.simulator.policies import make_policy, register_policy

POLICIES = ["rl", "mpc", "oracle", "heuristic", "oneshot", "vanilla"]
TARGET = 0.99


def start_dates(count: int, year: int = 2023) -> list[datetime]:
    first, span = datetime(year, 1, 10, 6, tzinfo=timezone.utc), 340
    return [first + timedelta(days=round(i * span / count)) for i in range(count)]


def setup_process(args) -> tuple[NB201Problem, object]:
    """The problem and proposer factory, and `rl` bound to `--rl-policy`: built once per
    process (each worker runs many cells)."""
    return _process_state(args.rl_policy, args.optimizer)


@cache
def _process_state(rl_policy: str | None, optimizer: str) -> tuple[NB201Problem, object]:
    torch.set_num_threads(1)
    if rl_policy:
        register_policy("rl", lambda: RLPolicy(rl_policy))
    problem = NB201Problem()
    return problem, proposer_factory(Optimizer(optimizer), Sampler.random, problem.max_hypervolume)


def cell_seed(region: str, start: datetime) -> int:
    """The first seed of a (region, start) cell: cells draw independent seeds, so a table's
    runs are as many independent searches as it has runs (policies share a cell's seeds:
    their comparison is paired)."""
    return (zlib.crc32(f"{region}|{start:%Y-%m-%dT%H}".encode()) % 100_000) * 100


def grid_trace(name: str):
    """A bundled region's trace or a synthetic test grid's."""
    return load_test_grid(name) if is_test_grid(name) else load_region(name)


def held_out_policy(directory: str, region: str) -> str:
    return f"{directory}/ppo_without_{region}.zip"


def run_cell(args, policies: list[str], region: str, start: datetime, cap: float | None) -> dict:
    """{policy: {"g99": [...], "hv": [...], "carbon": [...]}} for one region and start."""
    problem, factory = setup_process(args)
    if args.leave_one_out:  # this region's rl never saw it
        register_policy("rl", lambda path=held_out_policy(args.leave_one_out, region): RLPolicy(path))
    max_hv = problem.max_hypervolume
    setup = BenchSetup(
        problem, grid_trace(region), start, policies, args.seeds,
        SimulationConfig(gpus=args.gpus, hours=args.hours, power=accounting_preset(args.accounting), carbon_cap_g=cap,
                         queue_rule=args.queue_rule),
        args.accounting, factory, optimizer=args.optimizer,
        seed_offset=0 if args.shared_seeds else cell_seed(region, start),
    )
    out = {p: {"g99": [], "hv": [], "carbon": []} for p in policies}
    for result in episodes(setup):  # the episodes `cenas bench` runs
        hit = result.first_reaching(TARGET * max_hv)
        cell = out[result.policy]
        cell["g99"].append(hit[1] if hit else float("inf"))
        cell["hv"].append(result.final_hypervolume / max_hv)
        cell["carbon"].append(result.carbon_g)
    return out


def run_grid(args, policies: list[str], cap: float | None) -> dict:
    """{region: {policy: {"g99": [...], "hv": [...], "carbon": [...]}}}, one value per run."""
    cells = [(region, start) for region in args.regions for start in start_dates(args.starts, args.year)]
    if not policies:
        return {region: {} for region in args.regions}
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_cell, args, policies, region, start, cap) for region, start in cells]
        results = []
        for (region, start), future in zip(cells, futures):
            results.append(future.result())
            print(f"  {region} {start:%Y-%m-%d} done", flush=True)
    out: dict = {region: {p: {"g99": [], "hv": [], "carbon": []} for p in policies} for region in args.regions}
    for (region, _), result in zip(cells, results):  # in (region, start) order, as a serial run
        for policy, values in result.items():
            for key, series in values.items():
                out[region][policy][key].extend(series)
    return out


def median_inf(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("inf")


def median_interval(values: list[float], level: float = 0.95, resamples: int = 2000) -> tuple[float, float]:
    """Bootstrap percentile interval of the median; runs that never reached the target stay
    in as infinite (censored), so a bound is `never` when too many did not."""
    if not values:
        return float("inf"), float("inf")
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(0)
    medians = np.median(data[rng.integers(0, len(data), size=(resamples, len(data)))], axis=1)
    lo, hi = np.percentile(medians, [100 * (1 - level) / 2, 100 * (1 + level) / 2], method="lower")
    return float(lo), float(hi)


def geometric_mean(values: list[float]) -> float:
    return float(np.exp(np.mean(np.log(values)))) if values else float("inf")


def fmt_g(value: float) -> str:
    return "never" if not np.isfinite(value) else f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounting", default="full", choices=["full", "paper"])
    parser.add_argument("--regions", nargs="+", default=list(BUNDLED_REGIONS))
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--year", type=int, default=2023, choices=[2021, 2022, 2023], help="year of the start dates (2023: held out; 2021-2022: validation inside the training window)")
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument("--shared-seeds", action="store_true",
                        help="seeds 0..N-1 in every cell (earlier tables); default: each cell draws its own")
    parser.add_argument("--queue-rule", default="streaming", choices=["streaming", "refill"],
                        help="evaluation queue admission (cenas.search.queue): streaming top-10, or the paper's refill")
    parser.add_argument("--hours", type=int, default=80)
    parser.add_argument("--policies", nargs="+", default=POLICIES)
    parser.add_argument("--caps", nargs="*", type=float, default=[])
    parser.add_argument("--optimizer", default="lamoo", choices=["random", "lamoo"], help="the proposer (default: lamoo, as `cenas bench`)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--rl-policy", default=None, help="policy file to evaluate as rl (default: the shipped one)")
    parser.add_argument("--jobs", type=int, default=1, help="processes running (region, start) cells")
    parser.add_argument("--leave-one-out", default=None, metavar="DIR",
                        help="in each region, rl is DIR/ppo_without_<REGION>.zip (trained with --hold-out REGION)")
    parser.add_argument("--synthetic", action="store_true", help="run the synthetic test grids instead of --regions")
    parser.add_argument("--reuse", nargs="+", default=[], help="earlier --json files of the same grid: their policies are taken from them, not rerun")
    parser.add_argument("--rerun", nargs="+", default=[], help="policies to run even where --reuse files hold them (e.g. rl, with a new policy file)")
    args = parser.parse_args()
    if args.synthetic:
        if args.year != 2023 or args.leave_one_out:
            parser.error("--synthetic runs the 2023 test grids with the shipped policy (no --year, no --leave-one-out)")
        args.regions = list(TEST_GRIDS)
    if args.leave_one_out:
        missing = [r for r in args.regions if not os.path.isfile(held_out_policy(args.leave_one_out, r))]
        if missing:
            parser.error(f"--leave-one-out {args.leave_one_out}: no policy for {', '.join(missing)} (ppo_without_<REGION>.zip)")
    problem, factory = setup_process(args)
    earlier = load_reusable(args)
    report: dict = {"args": vars(args), "rl_policy": (f"{args.leave_one_out}/ppo_without_<REGION>.zip" if args.leave_one_out else args.rl_policy or str(shipped_policy_path(accounting_preset(args.accounting)))), "starts": [f"{s:%Y-%m-%dT%H:%MZ}" for s in start_dates(args.starts, args.year)]}
    t0 = time.monotonic()

    caps = args.caps or [None]
    for cap in caps:
        label = "uncapped" if cap is None else f"cap {cap:,.0f} g"
        print(f"== {args.accounting} accounting, {label}", flush=True)
        reused = earlier.get("grid", {}).get(label, {})
        fresh = [p for p in args.policies if p in args.rerun or not all(p in reused.get(region, {}) for region in args.regions)]
        grid = run_grid(args, fresh, cap)
        for region in args.regions:
            grid[region] |= {p: reused[region][p] for p in args.policies if p not in fresh}
        report.setdefault("grid", {})[label] = grid
        print_tables(args, grid, label)
    report["wall_s"] = round(time.monotonic() - t0, 1)
    report["decision_latency_ms"] = {
        p: earlier.get("decision_latency_ms", {}).get(p) for p in args.policies
    } | latency(args, problem, factory, [p for p in args.policies if p in args.rerun or p not in earlier.get("decision_latency_ms", {})])
    if args.reuse:
        report["reused_from"] = earlier["files"]
    print("decision latency (ms per decide, one episode):", json.dumps(report["decision_latency_ms"]))
    print(f"wall time {report['wall_s']} s")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1, default=lambda v: None if v == float("inf") else v)


def print_tables(args, grid: dict, label: str) -> None:
    policies = args.policies
    merged = {p: {k: [v for r in grid for v in grid[r][p][k]] for k in ("g99", "hv", "carbon")} for p in policies}
    blocks = {**grid, "ALL": merged}
    width = 15
    head = f"{'region':18s}" + "".join(f"{p:>{width}s}" for p in policies)
    print(f"\n[{args.accounting}, {label}] median g CO2 to reach {TARGET:.0%} of the max HV (runs that reached it / runs)")
    print(head)
    for region, cells in blocks.items():
        row = "".join(f"{fmt_g(median_inf(cells[p]['g99'])) + ' ' + str(int(np.isfinite(cells[p]['g99']).sum())) + '/' + str(len(cells[p]['g99'])):>{width}s}" for p in policies)
        print(f"{region:18s}{row}")
    print(f"[{args.accounting}, {label}] 95 % bootstrap interval of that median "
          f"({args.starts * args.seeds} independent searches per region and policy, {len(grid) * args.starts * args.seeds} in ALL"
          f"{'; seeds shared across cells' if args.shared_seeds else ''})")
    print(head)
    for region, cells in blocks.items():
        print(f"{region:18s}" + "".join(f"{'[' + fmt_g(lo) + ', ' + fmt_g(hi) + ']':>{width}s}"
                                        for lo, hi in (median_interval(cells[p]['g99']) for p in policies)))
    print(f"[{args.accounting}, {label}] geometric mean g CO2 to reach {TARGET:.0%} of the max HV (steadier than the median on small grids: choosing between candidates; never if a run never reached it)")
    print(head)
    for region, cells in blocks.items():
        print(f"{region:18s}" + "".join(f"{fmt_g(geometric_mean(cells[p]['g99'])):>{width}s}" for p in policies))
    print(f"[{args.accounting}, {label}] median final HV (fraction of the max)")
    print(head)
    for region, cells in blocks.items():
        print(f"{region:18s}" + "".join(f"{median_inf(cells[p]['hv']):>{width}.4f}" for p in policies))
    if {"rl", "vanilla", "oracle"} <= set(policies):
        print("checks: rl below every non-oracle baseline | rl final HV >= 99% of vanilla's | share of the vanilla->oracle gap rl closes")
        for region, cells in blocks.items():
            g = {p: median_inf(cells[p]["g99"]) for p in policies}
            others = [p for p in policies if p not in ("rl", "oracle")]
            losers = [p for p in others if not g["rl"] < g[p]]
            hv_ok = median_inf(cells["rl"]["hv"]) >= 0.99 * median_inf(cells["vanilla"]["hv"])
            gap = g["vanilla"] - g["oracle"]
            closed = (g["vanilla"] - g["rl"]) / gap if np.isfinite(gap) and gap > 0 and np.isfinite(g["rl"]) else float("nan")
            verdict = "yes" if not losers else "no (not below " + ", ".join(losers) + ")"
            print(f"{region:18s} {verdict:40s} {str(hv_ok):6s} {closed:6.0%}")
    rivals = [p for p in ("heuristic", "mpc", "oneshot") if p in policies]
    if "rl" in policies and rivals and "vanilla" in policies:
        print(f"issue 18: rl at most the best of {', '.join(rivals)} | rl final HV >= 99% of vanilla's")
        for region, cells in blocks.items():
            g = {p: median_inf(cells[p]["g99"]) for p in policies}
            best = min(rivals, key=lambda p: g[p])
            hv_ok = median_inf(cells["rl"]["hv"]) >= 0.99 * median_inf(cells["vanilla"]["hv"])
            verdict = "yes" if g["rl"] <= g[best] else f"no ({fmt_g(g['rl'])} vs {best} {fmt_g(g[best])})"
            print(f"{region:18s} {verdict:40s} {str(hv_ok):6s}")
    if args.accounting == "paper" and "vanilla" in policies:
        print("reduction factor vs vanilla at 99% of the max HV (vanilla's median grams / the policy's)")
        for region, cells in blocks.items():
            gv = median_inf(cells["vanilla"]["g99"])
            parts = []
            for p in policies:
                gp = median_inf(cells[p]["g99"])
                parts.append(f"{p} {gv / gp:.2f}x" if np.isfinite(gp) and np.isfinite(gv) else f"{p} n/a")
            print(f"{region:18s} " + ", ".join(parts))


def load_reusable(args) -> dict:
    """The grids and latencies of the earlier reports `--reuse` names (later files win),
    refused unless each ran the same grid."""
    merged: dict = {"grid": {}, "decision_latency_ms": {}}
    same = ("accounting", "regions", "starts", "seeds", "gpus", "hours", "caps", "optimizer", "year", "shared_seeds", "queue_rule")
    # rl's file is not part of the grid's identity: --reuse takes baselines from earlier runs
    # reports written before these options existed ran 2023, seeds 0..N-1 in every cell, the streaming queue
    before_year = {"year": 2023, "shared_seeds": True, "queue_rule": "streaming"}
    for path in args.reuse:
        with open(path) as handle:
            earlier = json.load(handle)
        differ = [k for k in same if {**before_year, **earlier["args"]}.get(k) != getattr(args, k)]
        if differ:
            raise SystemExit(f"--reuse {path}: ran with other settings ({', '.join(differ)}); rerun it instead")
        for label, grid in earlier.get("grid", {}).items():
            for region, policies in grid.items():
                merged["grid"].setdefault(label, {}).setdefault(region, {}).update(policies)
        merged["decision_latency_ms"].update(earlier.get("decision_latency_ms", {}))
        merged.setdefault("files", []).append({"file": path, "rl_policy": earlier.get("rl_policy"), "wall_s": earlier.get("wall_s")})
    return merged


def latency(args, problem, factory, policies: list[str]) -> dict[str, float]:
    trace = grid_trace(args.regions[0])
    start = start_dates(1, args.year)[0]
    first = trace.index_of(start)
    out = {}
    for name in policies:
        policy = make_policy(name)
        timings: list[float] = []
        decide = policy.decide

        def timed(observation, decide=decide):
            t = time.perf_counter()
            allocation = decide(observation)
            timings.append(time.perf_counter() - t)
            return allocation

        policy.decide = timed
        forecast = None
        if policy.forecast_source:
            forecast = episode_forecast(make_forecast_source(policy.forecast_source, 0), trace.values, first, policy.forecast_horizon)
        run_episode(
            problem, trace.window(start, args.hours), policy,
            SimulationConfig(gpus=args.gpus, hours=args.hours, power=accounting_preset(args.accounting)),
            history=trace.values[first - HISTORY_HOURS : first], proposer_factory=factory, forecast=forecast,
        )
        out[name] = round(1000 * statistics.mean(timings), 3)
    return out


if __name__ == "__main__":
    main()
