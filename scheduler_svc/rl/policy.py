"""`rl`: the PPO policy trained in the simulator (`cenas scheduler train`), shipped as a file.

The file is loaded lazily, on `reset`, and cached per path and modification time. A
missing or unloadable file (or stable-baselines3 not installed) raises `PolicyLoadError`,
so the scheduler service can fall back to the heuristic and say so in its decision.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from cenas.errors import CenasError
from scheduler_svc.rl.actions import ACTIONS, action_to_allocation
from scheduler_svc.rl.features import N_FEATURES, encode
from scheduler_svc.simulator.allocation import Allocation, EpisodeContext, Observation
from scheduler_svc.simulator.policies import AllocationPolicy

DEFAULT_POLICY_PATH = Path(__file__).parent / "policies" / "ppo_default.zip"


class PolicyLoadError(CenasError, RuntimeError):
    """The RL policy file is missing, unreadable or was trained for other features."""


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Any:
    try:
        from stable_baselines3 import PPO
    except ImportError as exc:
        raise PolicyLoadError(f"the rl policy needs stable-baselines3 ({exc}); use the heuristic policy instead") from None
    try:
        model = PPO.load(path, device="cpu")
    except Exception as exc:  # sb3 raises many kinds (zip, pickle, torch); all mean "unloadable"
        raise PolicyLoadError(f"cannot load RL policy file {path}: {type(exc).__name__}: {exc}") from None
    shape = getattr(model.observation_space, "shape", None)
    actions = getattr(model.action_space, "n", None)
    if shape != (N_FEATURES,) or actions != len(ACTIONS):
        raise PolicyLoadError(
            f"RL policy file {path} was trained for observations {shape} and {actions} actions; "
            f"this version needs ({N_FEATURES},) and {len(ACTIONS)}: retrain with `cenas scheduler train`"
        )
    return model


def load_model(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise PolicyLoadError(f"RL policy file {path} not found; train one with `cenas scheduler train` or use the heuristic policy")
    return _load(str(path.resolve()), os.stat(path).st_mtime)


class RLPolicy(AllocationPolicy):
    """Acts with a trained PPO model, deterministically (the most probable action)."""

    name = "rl"
    #: the forecast deployable today; the forecaster service's replaces it in the service
    forecast_source = "naive"

    def __init__(self, path: str | Path | None = None, *, model: Any = None) -> None:
        self.path = Path(path) if path is not None else DEFAULT_POLICY_PATH
        self._model = model

    def load(self) -> Any:
        if self._model is None:
            self._model = load_model(self.path)
        return self._model

    def reset(self, context: EpisodeContext) -> None:
        super().reset(context)
        self.load()

    def decide(self, observation: Observation) -> Allocation:
        action, _ = self.load().predict(encode(observation, self.context), deterministic=True)
        return action_to_allocation(int(action), observation.gpus)
