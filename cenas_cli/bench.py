"""`cenas bench`: compare allocation policies in the simulator over a real carbon trace."""

from __future__ import annotations

from enum import Enum

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cenas.carbon.accounting import accounting_preset
from cenas.carbon.traces import load_region, load_trace, parse_utc
from cenas.errors import CenasError
from cenas.tasks.nb201 import parse_problem


class Accounting(str, Enum):
    full = "full"
    paper = "paper"


class Optimizer(str, Enum):
    lamoo = "lamoo"
    random = "random"


class QueueRule(str, Enum):
    streaming = "streaming"
    refill = "refill"


class Sampler(str, Enum):
    random = "random"
    qnehvi = "qnehvi"


class BenchOptionError(CenasError, ValueError):
    """A `cenas bench` option that cannot be honoured."""


def proposer_factory(optimizer: Optimizer, sampler: Sampler, max_hypervolume: float):
    """Build the optimizer the simulated searches use (the composition root's choice)."""
    from cenas.search.proposers import RandomProposer

    if optimizer is Optimizer.random:
        return RandomProposer
    from optimizer_svc.lamoo import LaMOO, LaMOOConfig

    config = LaMOOConfig(sampler=sampler.value, max_hypervolume=max_hypervolume)
    return lambda space, ref_point, seed: LaMOO(space, ref_point, config, seed=seed)


def bench_command(
    problem: Annotated[str, typer.Option(help="nb201:<dataset>:<metric>: maximise accuracy, minimise the HW-NAS-Bench metric.")] = "nb201:cifar10:edgegpu_energy",
    region: Annotated[Optional[str], typer.Option(help="Bundled trace: US-CAL-CISO, US-MIDA-PJM, DE, US-TEX-ERCO, GB.")] = None,
    trace_file: Annotated[Optional[Path], typer.Option(help="CSV with columns timestamp,carbon_intensity (hourly UTC); replaces --region.")] = None,
    fill_gaps: Annotated[bool, typer.Option(help="Interpolate missing hours in --trace-file instead of refusing it.")] = False,
    start: Annotated[str, typer.Option(help="First simulated hour, ISO-8601 UTC.")] = "2021-07-02T06:00:00Z",
    gpus: Annotated[int, typer.Option(min=1, help="GPUs in the pool.")] = 8,
    hours: Annotated[int, typer.Option(min=1, help="Simulated hours per run.")] = 80,
    policy: Annotated[Optional[list[str]], typer.Option(help="Repeatable: vanilla, oneshot, heuristic, rl, mpc, oracle, static:K.")] = None,
    seeds: Annotated[int, typer.Option(min=1, help="Runs per policy, seeds 0..N-1.")] = 5,
    accounting: Annotated[Accounting, typer.Option(help="full: every GPU state costs power; paper: 1 kW per evaluating GPU only.")] = Accounting.full,
    carbon_cap_g: Annotated[Optional[float], typer.Option(help="Stop a run when its carbon reaches this many grams (> 0).")] = None,
    optimizer: Annotated[Optimizer, typer.Option(help="Where candidates come from.")] = Optimizer.lamoo,
    sampler: Annotated[Sampler, typer.Option(help="LaMOO's sampler inside the selected region.")] = Sampler.random,
    queue_rule: Annotated[QueueRule, typer.Option(help="Evaluation queue admission: streaming top-10 of all screened (default), "
                                                       "or the CE-NAS paper simulator's refill-while-room.")] = QueueRule.streaming,
    out: Annotated[Path, typer.Option(help="Output directory.")] = Path("bench-out"),
) -> None:
    """Compare scheduling policies on a tabular NAS problem over a real carbon trace."""
    from scheduler_svc.simulator.bench import BenchSetup, run_bench
    from scheduler_svc.simulator.engine import SimulationConfig
    from scheduler_svc.simulator.report import plot_hv_vs_carbon, plot_hv_vs_time, summary_table, write_summary

    from scheduler_svc.simulator.policies import make_policy
    import scheduler_svc.rl  # noqa: F401  registers rl, mpc and oracle

    console = Console(stderr=True)
    policies = policy or ["vanilla", "oneshot", "heuristic"]
    for name in policies:
        make_policy(name)  # unknown names fail before anything is loaded
    if carbon_cap_g is not None and carbon_cap_g <= 0:
        raise BenchOptionError(f"--carbon-cap-g must be > 0, got {carbon_cap_g}")
    if region and trace_file:
        raise BenchOptionError("give either --region or --trace-file, not both")
    trace = load_trace(trace_file, fill_gaps=fill_gaps) if trace_file else load_region(region or "US-CAL-CISO")
    if trace.filled_hours:
        console.print(f"[yellow]filled {len(trace.filled_hours)} missing hour(s) in {trace_file} by interpolation[/]")
    try:
        start_at = parse_utc(start)
    except ValueError:
        raise BenchOptionError(f"--start {start!r} is not an ISO-8601 timestamp") from None
    trace.window(start_at, hours)  # start outside the trace / hours past its end: one clear error
    tabular = parse_problem(problem)
    power = accounting_preset(accounting.value)
    setup = BenchSetup(
        problem=tabular,
        trace=trace,
        start=start_at,
        policies=policies,
        seeds=seeds,
        config=SimulationConfig(gpus=gpus, hours=hours, power=power, carbon_cap_g=carbon_cap_g, queue_rule=queue_rule.value),
        accounting=accounting.value,
        proposer_factory=proposer_factory(optimizer, sampler, tabular.max_hypervolume),
        optimizer=optimizer.value if optimizer is Optimizer.random else f"lamoo/{sampler.value}",
    )
    total = len(setup.policies) * seeds
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("simulating", total=total)

        def advance(result) -> None:
            progress.update(task, advance=1, description=f"{result.policy} seed {result.seed}: HV {result.final_hypervolume:.1f}")

        summary = run_bench(setup, on_episode=advance)
    write_summary(summary, out)
    plot_hv_vs_time(summary, out / "hv_vs_time.png")
    plot_hv_vs_carbon(summary, out / "hv_vs_carbon.png")
    out_console = Console()
    if not out_console.is_terminal:
        out_console = Console(width=150)  # logs and pipes: no truncated columns
    out_console.print(summary_table(summary))
    console.print(f"wrote {out / 'summary.json'}, {out / 'hv_vs_time.png'}, {out / 'hv_vs_carbon.png'}")


__all__ = ["bench_command"]
