"""`cenas scheduler ...`: train the RL allocation policy in the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

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
    out: Annotated[Path, typer.Option(help="Policy file (.zip); the recipe goes next to it as .json.")] = Path("ppo_policy.zip"),
) -> None:
    """Train the `rl` policy with PPO over the bundled regions, 2021-2022; evaluate on 2023."""
    from scheduler_svc.rl.train import TrainConfig, train
    import scheduler_svc.rl  # noqa: F401  registers rl, mpc and oracle

    if out.suffix != ".zip":
        out = out.with_suffix(".zip")
    config = TrainConfig(timesteps=timesteps, seed=seed, n_envs=n_envs, n_steps=n_steps, batch_size=min(256, n_steps * n_envs), max_minutes=max_minutes, eval_episodes=eval_episodes, torch_threads=threads)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("training PPO", total=timesteps)
        recipe = train(config, out, on_progress=lambda done, total: progress.update(task, completed=done))
        progress.update(task, description="trained")
    results = recipe["evaluation"]["results"]
    for name, row in results.items():
        console.print(f"{name:10s} objective {row['mean_objective']:+.3f}  median HV {row['median_hv_fraction']:.4f}  median g {row['median_carbon_g']:,.0f}")
    console.print(f"wrote {out} and {out.with_suffix('.json')} ({recipe['timesteps_done']} steps in {recipe['train_wall_s']:.0f} s)")
