"""Offline PPO training of the `rl` policy in the simulator, and its recipe.

Why PPO: the action set is small and discrete, episodes are short (40-120 steps) and the
simulator is cheap, so an on-policy method that is stable with default-ish settings
suits a 2-core budget better than tuning an off-policy one (DQN's replay and target
network add hyperparameters, SAC needs continuous actions); PPO is also what
stable-baselines3 maintains best. A small MLP (2 x 64, tanh) keeps decisions well under a
millisecond.

Why fine-tuning (`init`): the proposer shapes the dynamics the policy must learn (LaMOO
reaches the front with fewer evaluations than random search, so evaluating is worth less
per gram late in a search), but a LaMOO step costs several random-search steps (its
classifiers are refitted every hour with new results; `benchmarks/simulator_speed.py`
times both side by side, with a profile). The shipped policy is therefore
trained in two stages: a long run with random search, then a shorter one continued from
it with LaMOO, the runtime's optimizer.

Why widening (`init` without the planner's advice, `env.planner_advice` on): the new
input columns start at zero weight, so training starts from exactly the old policy's
behaviour and only learns to use the advice where it pays.

Pure apart from writing the model file and recipe given to `train`; the composition root
(the CLI) chooses the proposer and adds the progress display.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from cenas.search.proposers import ProposerFactory, RandomProposer
from scheduler_svc.rl.env import EnvConfig, SchedulingEnv
from scheduler_svc.rl.objective import carbon_weight, potential

#: Held-out evaluation: 2023, never seen in training.
EVAL_CONFIG = EnvConfig(start=datetime(2023, 1, 1, tzinfo=timezone.utc), end=datetime(2023, 12, 31, 23, tzinfo=timezone.utc))
#: With checkpoints, training stops drawing episodes here and the rest of the training
#: window (to `EnvConfig.end`) holds the validation episodes that choose the checkpoint.
VALIDATION_START = datetime(2022, 10, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class TrainConfig:
    timesteps: int = 200_000
    seed: int = 0
    n_envs: int = 4
    n_steps: int = 512
    batch_size: int = 256
    n_epochs: int = 10
    learning_rate: float = 3e-4
    gamma: float = 0.995
    gae_lambda: float = 0.95
    ent_coef: float = 0.01
    clip_range: float = 0.2
    net_arch: tuple[int, ...] = (64, 64)
    torch_threads: int = 1
    max_minutes: float | None = None
    eval_episodes: int = 40
    #: a policy file to continue training from (fine-tuning), or None to start afresh
    init: Path | None = None
    #: step the environments in worker processes (worth it when a step is expensive)
    subprocess_envs: bool = False
    #: save this many checkpoints evenly over training and ship the one with the best
    #: mean objective on `validation_episodes` episodes from VALIDATION_START to the
    #: window's end (held out from training draws); 0: ship the last
    checkpoints: int = 0
    validation_episodes: int = 24
    #: a fresh `planner`-kind network starts out preferring the plain planner's setting
    #: by this much (added to that action's logit; 0: uniform), so training explores
    #: around `mpc` instead of from a random mix of settings
    prior_logit: float = 0.0
    env: EnvConfig = field(default_factory=EnvConfig)

    def __post_init__(self) -> None:
        if self.timesteps < 1:
            raise ValueError(f"timesteps must be >= 1, got {self.timesteps}")
        if self.n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {self.n_envs}")


def config_from_recipe(recipe: dict) -> TrainConfig:
    """The `TrainConfig` a recipe file records, to train the same policy again (a recipe
    of a fine-tuning run needs its `init` file, which the recipe names but does not hold)."""
    env = dict(recipe["environment"])
    for key in ("start", "end"):
        env[key] = datetime.fromisoformat(env[key])
    for key in ("regions", "gpus", "hours", "cap_fraction", "noise_sigma"):
        env[key] = tuple(env[key])
    for key in ("accounting", "forecasts"):
        env[key] = tuple((name, float(weight)) for name, weight in env[key])
    hyper = dict(recipe["hyperparameters"])
    hyper["net_arch"] = tuple(hyper["net_arch"])
    schedule = recipe.get("schedule") or {
        # recipes written before the schedule was recorded: what their validation block shows
        "checkpoints": len((recipe.get("validation") or {}).get("checkpoints", [])),
        "validation_episodes": (recipe.get("validation") or {}).get("episodes", 24),
        "eval_episodes": recipe.get("evaluation", {}).get("episodes", 0), "max_minutes": None,
    }
    known = {f for f in TrainConfig.__dataclass_fields__}
    hyper = {k: v for k, v in hyper.items() if k in known}
    return TrainConfig(
        timesteps=int(recipe["timesteps_requested"]), seed=int(recipe["seed"]), env=EnvConfig(**env),
        **schedule, **hyper,
    )


def _library_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("stable-baselines3", "gymnasium", "torch", "numpy")} | {"python": platform.python_version()}


def evaluate(
    policy_names: list[str], episodes: int, seed: int, *, model: Any = None, env_config: EnvConfig = EVAL_CONFIG,
    proposer_factory: ProposerFactory = RandomProposer,
) -> dict[str, dict]:
    """Mean objective J, final HV fraction and grams per policy over `episodes` drawn
    episodes (the same draws for every policy; every policy gets the forecast it asks for)."""
    from scheduler_svc.rl.policy import RLPolicy
    from scheduler_svc.simulator.engine import HISTORY_HOURS, SimulationConfig, run_episode
    from scheduler_svc.simulator.forecasts import episode_forecast, make_forecast_source
    from scheduler_svc.simulator.policies import make_policy

    env = SchedulingEnv(env_config)
    draws = []
    for i in range(episodes):
        env.reset(seed=seed + i)
        draws.append(env.episode)
    out: dict[str, dict] = {}
    for name in policy_names:
        js, hvs, grams = [], [], []
        for ep in draws:
            policy = RLPolicy(model=model) if name == "rl" and model is not None else make_policy(name)
            trace, first = ep["trace"], ep["first"]
            forecast = None
            if policy.forecast_source:
                forecast = episode_forecast(make_forecast_source(policy.forecast_source, ep["seed"]), trace.values, first, policy.forecast_horizon)
            config = SimulationConfig(gpus=ep["gpus"], hours=ep["hours"], power=ep["power"], carbon_cap_g=ep["carbon_cap_g"])
            result = run_episode(
                env.problem, trace.values[first : first + ep["hours"]], policy, config, seed=ep["seed"],
                history=trace.values[max(0, first - HISTORY_HOURS) : first], forecast=forecast,
                proposer_factory=proposer_factory,
            )
            max_hv = env.problem.max_hypervolume
            weighted = sum(
                carbon_weight(prev.hypervolume / max_hv) * (row.carbon_g - prev.carbon_g)
                for prev, row in zip(result.rows, result.rows[1:])
            )
            env.episode = ep
            js.append(potential(result.final_hypervolume / max_hv) - env.price * weighted / ep["carbon_reference_g"])
            hvs.append(result.final_hypervolume / max_hv)
            grams.append(result.carbon_g)
        out[name] = {"mean_objective": float(np.mean(js)), "median_hv_fraction": float(statistics.median(hvs)), "median_carbon_g": float(statistics.median(grams))}
    return out


def choose_checkpoint(saved: list[tuple[int, Path]], env_config: EnvConfig, config: TrainConfig, proposer_factory: ProposerFactory) -> dict:
    """The checkpoint with the best mean objective on the validation episodes (the same
    draws for each), with every checkpoint's score."""
    from stable_baselines3 import PPO

    scores = []
    for steps, path in saved:
        model = PPO.load(path, device="cpu")
        result = evaluate(["rl"], config.validation_episodes, seed=20_000 + config.seed, model=model,
                          env_config=env_config, proposer_factory=proposer_factory)["rl"]
        scores.append({"steps": steps, "file": str(path), **result})
    best = max(scores, key=lambda row: row["mean_objective"])
    return {
        "episodes": config.validation_episodes,
        "window": f"{env_config.start:%Y-%m-%d}..{env_config.end:%Y-%m-%d} (held out from the training draws)",
        "checkpoints": [{k: v for k, v in row.items() if k != "file"} for row in scores],
        "chosen_steps": best["steps"], "chosen": best["file"],
    }


def widen_into(source: Any, target: Any) -> None:
    """Copy `source`'s weights into `target`, a policy of the same network over more
    input features; the extra input columns get zero weight, so `target` acts as `source`
    whatever the new features hold."""
    import torch

    theirs, ours = source.state_dict(), target.state_dict()
    if theirs.keys() != ours.keys():
        raise ValueError("policies differ in more than their input width")
    with torch.no_grad():
        for key, value in ours.items():
            old = theirs[key]
            if old.shape == value.shape:
                value.copy_(old)
            elif old.ndim == 2 and value.ndim == 2 and old.shape[0] == value.shape[0] and old.shape[1] < value.shape[1]:
                value.zero_()
                value[:, : old.shape[1]] = old
            else:
                raise ValueError(f"cannot widen {key}: {tuple(old.shape)} -> {tuple(value.shape)}")


def _describe_init(init: Path | None) -> dict | None:
    """The recipe of the policy training continued from (its own recipe file), so a
    fine-tuned policy's history is readable from its file alone."""
    if init is None:
        return None
    recipe = Path(init).with_suffix(".json")
    earlier = json.loads(recipe.read_text()) if recipe.is_file() else None
    return {"file": Path(init).name, "recipe": earlier}


def train(
    config: TrainConfig, out: Path, on_progress: Callable[[int, int], None] | None = None, *,
    proposer_factory: ProposerFactory = RandomProposer, proposer_name: str = "random",
) -> dict:
    """Train, save `out` (.zip) and `out` with suffix .json (the recipe); return the recipe."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    torch.set_num_threads(config.torch_threads)
    train_env, validation_env = config.env, None
    if config.checkpoints:
        train_env = replace(config.env, end=VALIDATION_START)
        validation_env = replace(config.env, start=VALIDATION_START)
    makers = [lambda: SchedulingEnv(train_env, proposer_factory=proposer_factory) for _ in range(config.n_envs)]
    vec = SubprocVecEnv(makers, start_method="spawn") if config.subprocess_envs else DummyVecEnv(makers)
    vec.seed(config.seed)
    hyper = dict(
        learning_rate=config.learning_rate, n_steps=config.n_steps, batch_size=config.batch_size,
        n_epochs=config.n_epochs, gamma=config.gamma, gae_lambda=config.gae_lambda, ent_coef=config.ent_coef,
        clip_range=config.clip_range, seed=config.seed, device="cpu", verbose=0,
    )
    if config.init is not None:
        from scheduler_svc.rl.policy import load_model

        earlier = load_model(config.init)  # a clear PolicyLoadError for a missing or incompatible file
        if earlier.observation_space.shape == vec.observation_space.shape:
            model = PPO.load(config.init, env=vec, custom_objects={k: v for k, v in hyper.items() if k not in ("seed", "device", "verbose")}, device="cpu")
            model.set_random_seed(config.seed)
        else:
            model = PPO("MlpPolicy", vec, **hyper, policy_kwargs=earlier.policy_kwargs)
            widen_into(earlier.policy, model.policy)
    else:
        model = PPO("MlpPolicy", vec, **hyper, policy_kwargs={"net_arch": list(config.net_arch), "activation_fn": torch.nn.Tanh})
        if config.prior_logit and config.env.actions == "planner":
            from scheduler_svc.rl.settings import DEFAULT_SETTING

            with torch.no_grad():
                model.policy.action_net.bias[DEFAULT_SETTING] += config.prior_logit
    started, steps_before = time.monotonic(), int(model.num_timesteps)
    deadline = started + 60 * config.max_minutes if config.max_minutes else None
    out.parent.mkdir(parents=True, exist_ok=True)
    every = config.timesteps // config.checkpoints if config.checkpoints else None
    saved: list[tuple[int, Path]] = []

    def checkpoint(done: int) -> None:
        path = out.with_name(f"{out.stem}.step{done}.zip")
        model.save(path)
        saved.append((done, path))

    class Progress(BaseCallback):
        def _on_step(self) -> bool:
            done = self.num_timesteps - steps_before
            if on_progress and done % 256 < config.n_envs:
                on_progress(done, config.timesteps)
            if every and done // every > len(saved) and done < config.timesteps:
                checkpoint(done)
            return deadline is None or time.monotonic() < deadline

    model.learn(total_timesteps=config.timesteps, callback=Progress(), reset_num_timesteps=config.init is None)
    wall = time.monotonic() - started
    steps_done = int(model.num_timesteps) - steps_before  # before a checkpoint may replace the model
    vec.close()
    model.save(out)
    validation = None
    if validation_env is not None:
        saved.append((int(model.num_timesteps) - steps_before, out))
        validation = choose_checkpoint(saved, validation_env, config, proposer_factory)
        chosen = Path(validation.pop("chosen"))
        if chosen != out:
            chosen.replace(out)
            model = PPO.load(out, device="cpu")
        for _, path in saved:
            if path != out:
                path.unlink(missing_ok=True)
    baselines = ["rl", "heuristic", "oneshot", "mpc"]
    evaluation = (
        evaluate(baselines, config.eval_episodes, seed=10_000 + config.seed, model=model, proposer_factory=proposer_factory)
        if config.eval_episodes else {}
    )
    recipe = {
        "algorithm": "PPO (stable-baselines3 MlpPolicy)",
        "seed": config.seed,
        "timesteps_requested": config.timesteps,
        "schedule": {"max_minutes": config.max_minutes, "checkpoints": config.checkpoints,
                     "validation_episodes": config.validation_episodes, "eval_episodes": config.eval_episodes},
        "timesteps_done": steps_done,
        "train_wall_s": round(wall, 1),
        "continued_from": _describe_init(config.init),
        "hyperparameters": {k: v for k, v in asdict(config).items() if k not in ("env", "timesteps", "seed", "eval_episodes", "max_minutes", "init", "checkpoints", "validation_episodes")},
        "data_window": {"start": f"{config.env.start:%Y-%m-%dT%H:%M:%SZ}", "end": f"{config.env.end:%Y-%m-%dT%H:%M:%SZ}", "regions": list(config.env.regions)},
        "environment": json.loads(json.dumps(asdict(config.env), default=str)),
        "proposer": proposer_name,
        "planner_advice": config.env.planner_advice,
        "actions": config.env.actions,
        "validation": validation,
        "libraries": _library_versions(),
        "evaluation": {
            "episodes": config.eval_episodes, "window": "2023 (held out)", "proposer": proposer_name,
            "forecast": "each policy's own (rl, mpc: seasonal naive)", "results": evaluation,
        },
    }
    out.with_suffix(".json").write_text(json.dumps(recipe, indent=2) + "\n")
    return recipe


__all__ = ["EVAL_CONFIG", "TrainConfig", "config_from_recipe", "evaluate", "train", "widen_into"]
