"""`cenas scheduler ...`: train the RL allocation policy in the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cenas_cli.bench import Optimizer

scheduler_app = typer.Typer(name="scheduler", help="The carbon-aware GPU scheduler.", no_args_is_help=True)


@scheduler_app.command("train")
def train_command(
    timesteps: Annotated[int, typer.Option(min=1, help="PPO environment steps (simulated hours).")] = 200_000,
    seed: Annotated[int, typer.Option(help="Seed of the environments and the network.")] = 0,
    n_envs: Annotated[int, typer.Option(min=1, help="Environments stepped in lockstep.")] = 4,
    n_steps: Annotated[int, typer.Option(min=8, help="PPO rollout length per environment.")] = 512,
    max_minutes: Annotated[Optional[float], typer.Option(help="Stop training after this many minutes (the recipe records the steps done).")] = None,
    eval_episodes: Annotated[int, typer.Option(min=0, help="Held-out 2023 episodes to evaluate rl, heuristic, oneshot and mpc on.")] = 40,
    threads: Annotated[int, typer.Option(min=1, help="torch threads.")] = 1,
    optimizer: Annotated[Optimizer, typer.Option(help="The proposer inside the simulator (lamoo: the runtime's optimizer).")] = Optimizer.lamoo,
    init: Annotated[Optional[Path], typer.Option(help="Continue training this policy file (fine-tuning) instead of starting afresh.")] = None,
    learning_rate: Annotated[float, typer.Option(min=0.0, help="Adam step size (lower it when fine-tuning).")] = 3e-4,
    subprocess_envs: Annotated[bool, typer.Option(help="Step the environments in worker processes (one core each).")] = False,
    region: Annotated[Optional[list[str]], typer.Option(help="Draw episodes from this bundled region (repeat it; a region given twice is drawn twice as often). Default: all five, equally.")] = None,
    planner_advice: Annotated[bool, typer.Option(help="Show the policy the mpc planner's decision as extra observations (a residual over mpc); with --init of a policy without it, the new inputs start at zero weight.")] = False,
    out: Annotated[Path, typer.Option(help="Policy file (.zip); the recipe goes next to it as .json.")] = Path("ppo_policy.zip"),
) -> None:
    """Train the `rl` policy with PPO over the bundled regions, 2021-2022; evaluate on 2023."""
    from cenas_cli.bench import Sampler, proposer_factory
    from cenas.errors import UnknownRegionError
    from scheduler_svc.rl.env import EnvConfig
    from cenas.tasks.nb201 import NB201Problem
    from scheduler_svc.rl.policy import load_model
    from scheduler_svc.rl.train import TrainConfig, train
    import scheduler_svc.rl  # noqa: F401  registers rl, mpc and oracle

    if init is not None:
        load_model(init)  # PolicyLoadError: one line naming the file, before any work
    try:
        drawn = {"regions": tuple(region)} if region else {}
        env = EnvConfig(**drawn, planner_advice=planner_advice)
    except UnknownRegionError as exc:
        raise typer.BadParameter(str(exc), param_hint="--region") from None
    if out.suffix != ".zip":
        out = out.with_suffix(".zip")
    config = TrainConfig(
        timesteps=timesteps, seed=seed, n_envs=n_envs, n_steps=n_steps, batch_size=min(256, n_steps * n_envs), max_minutes=max_minutes,
        eval_episodes=eval_episodes, torch_threads=threads, init=init, learning_rate=learning_rate, subprocess_envs=subprocess_envs, env=env,
    )
    factory = proposer_factory(optimizer, Sampler.random, NB201Problem().max_hypervolume)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("training PPO", total=timesteps)
        recipe = train(config, out, on_progress=lambda done, total: progress.update(task, completed=done), proposer_factory=factory, proposer_name=optimizer.value)
        progress.update(task, description="trained")
    results = recipe["evaluation"]["results"]
    for name, row in results.items():
        console.print(f"{name:10s} objective {row['mean_objective']:+.3f}  median HV {row['median_hv_fraction']:.4f}  median g {row['median_carbon_g']:,.0f}")
    console.print(f"wrote {out} and {out.with_suffix('.json')} ({recipe['timesteps_done']} steps in {recipe['train_wall_s']:.0f} s)")
