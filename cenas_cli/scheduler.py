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
    hold_out: Annotated[Optional[list[str]], typer.Option(help="Never draw episodes from this bundled region (repeat it): leave-one-region-out training.")] = None,
    actions: Annotated[str, typer.Option(help="fractions: the policy picks GPU fractions; planner: it picks the mpc planner's settings each hour, inside the carbon envelope.")] = "fractions",
    synthetic: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of episodes on synthetic grids (cenas.carbon.synthetic).")] = 0.0,
    randomise: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of the other episodes on randomised copies of the real trace.")] = 0.0,
    paper_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of episodes charged with the paper's accounting (the rest: full).")] = 0.3,
    prior_logit: Annotated[float, typer.Option(help="A fresh --actions planner network starts preferring the plain planner's setting by this logit (0: uniform).")] = 0.0,
    ent_coef: Annotated[float, typer.Option(min=0.0, help="PPO entropy bonus.")] = 0.01,
    free_sampling_price: Annotated[Optional[float], typer.Option(min=0.0, help="The reward's carbon price in episodes where sampling is free (default: the same as elsewhere, 1).")] = None,
    forecast: Annotated[Optional[list[str]], typer.Option(help="Training forecast source and weight, NAME:WEIGHT (repeat it): noisy, naive, backtest (the real forecaster's stored errors), true. Default: noisy:0.6 and naive:0.4.")] = None,
    checkpoints: Annotated[int, typer.Option(min=0, help="Checkpoints to save; the one with the best validation objective (2022-10..12, held out from training draws) ships.")] = 0,
    validation_episodes: Annotated[int, typer.Option(min=1, help="Validation episodes per checkpoint.")] = 24,
    recipe: Annotated[Optional[Path], typer.Option(help="Train again from a recipe file (a policy's .json): its seed, steps, hyperparameters, environment and proposer; the other training options are ignored, --init gives a fine-tuning recipe's starting file.")] = None,
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
    from cenas.carbon.traces import BUNDLED_REGIONS

    regions = tuple(region) if region else BUNDLED_REGIONS
    for name in hold_out or []:
        if name not in BUNDLED_REGIONS:
            raise typer.BadParameter(f"unknown region {name!r}; choose one of {', '.join(BUNDLED_REGIONS)}", param_hint="--hold-out")
    regions = tuple(r for r in regions if r not in (hold_out or []))
    if not regions:
        raise typer.BadParameter("every region is held out; keep at least one", param_hint="--hold-out")
    forecasts = _forecast_mix(forecast) if forecast else EnvConfig.forecasts
    try:
        env = EnvConfig(regions=regions, forecasts=forecasts, planner_advice=planner_advice, actions=actions,
                        synthetic_probability=synthetic, randomise_probability=randomise,
                        accounting=(("full", 1.0 - paper_share), ("paper", paper_share)), free_sampling_price=free_sampling_price)
    except UnknownRegionError as exc:
        raise typer.BadParameter(str(exc), param_hint="--region") from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--actions") from None
    if out.suffix != ".zip":
        out = out.with_suffix(".zip")
    config = TrainConfig(
        timesteps=timesteps, seed=seed, n_envs=n_envs, n_steps=n_steps, batch_size=min(256, n_steps * n_envs), max_minutes=max_minutes,
        eval_episodes=eval_episodes, torch_threads=threads, init=init, learning_rate=learning_rate, subprocess_envs=subprocess_envs, env=env,
        checkpoints=checkpoints, validation_episodes=validation_episodes, prior_logit=prior_logit, ent_coef=ent_coef,
    )
    if recipe is not None:
        config, optimizer = _from_recipe(recipe, init)
        timesteps = config.timesteps
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
    if recipe.get("validation"):
        console.print(f"validation chose the checkpoint at {recipe['validation']['chosen_steps']:,} steps")
    console.print(f"wrote {out} and {out.with_suffix('.json')} ({recipe['timesteps_done']} steps in {recipe['train_wall_s']:.0f} s)")


def _from_recipe(path: Path, init: Optional[Path]):
    """The training config and proposer a recipe file records; one clear error otherwise."""
    import json
    from dataclasses import replace

    from scheduler_svc.rl.train import config_from_recipe

    try:
        recorded = json.loads(path.read_text())
        config = config_from_recipe(recorded)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise typer.BadParameter(f"{path} is not a training recipe ({type(exc).__name__}: {exc})", param_hint="--recipe") from None
    if recorded.get("continued_from") and init is None:
        raise typer.BadParameter(f"{path} continues from {recorded['continued_from']['file']}; give that file with --init", param_hint="--recipe")
    proposer = str(recorded.get("proposer", "lamoo")).split()[0]
    if proposer not in {o.value for o in Optimizer}:
        raise typer.BadParameter(f"{path} names an unknown proposer {proposer!r}", param_hint="--recipe")
    return replace(config, init=init), Optimizer(proposer)


def _forecast_mix(options: list[str]) -> tuple[tuple[str, float], ...]:
    from scheduler_svc.simulator.forecasts import FORECAST_SOURCES

    mix = []
    for option in options:
        name, _, weight = option.partition(":")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            value = -1.0
        if name not in FORECAST_SOURCES or value <= 0:
            raise typer.BadParameter(f"{option!r}: give NAME:WEIGHT with NAME one of {', '.join(FORECAST_SOURCES)} and WEIGHT > 0", param_hint="--forecast")
        mix.append((name, value))
    return tuple(mix)
