"""`rl`: the PPO policies trained in the simulator (`cenas scheduler train`), shipped as files.

Two files ship, and the search's power model picks one at `reset` (the rule, with the
grids that show it right, is in `benchmarks/results/scheduler_grid.md`):
* `ppo_default.zip` wherever sampling or idle GPUs draw power (full accounting, any
  custom model): a `fractions` policy that picks GPU fractions and reads the `mpc`
  planner's advice (`advice.py`). On the 2023 five-region grid it needs 5,182 g to reach
  99 % of the maximum hypervolume against the planner-settings policy's 5,578 g.
* `ppo_free_sampling.zip` where they draw none (the paper's accounting): a `planner`
  policy that picks the planner's settings each hour inside the carbon envelope
  (`settings.py`, `guard.py`), trained on the five regions plus synthetic and randomised
  grids. On the same grid it needs 5,668 g against the fractions policy's 6,183 g.
A path given explicitly is used for every regime; the file's spaces say its kind.

The file is loaded lazily, on `reset`, and cached per path and modification time. A
missing or unloadable file (or stable-baselines3 not installed) raises `PolicyLoadError`,
so the scheduler service can fall back to the heuristic and say so in its decision.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from cenas.carbon.accounting import PowerModel
from cenas.errors import CenasError
from scheduler_svc.rl.actions import ACTIONS, action_to_allocation
from scheduler_svc.rl.advice import N_ADVISED_FEATURES, Advisor, observation as advised_observation
from scheduler_svc.rl.features import N_FEATURES
from scheduler_svc.rl.relative_features import N_RELATIVE_FEATURES
from scheduler_svc.rl.settings import PLANNER_SETTINGS, SettingsActor
from scheduler_svc.simulator.allocation import Allocation, EpisodeContext, Observation
from scheduler_svc.simulator.policies import AllocationPolicy

POLICIES_DIR = Path(__file__).parent / "policies"
DEFAULT_POLICY_PATH = POLICIES_DIR / "ppo_default.zip"
FREE_SAMPLING_POLICY_PATH = POLICIES_DIR / "ppo_free_sampling.zip"
SHIPPED_POLICY_PATHS = (DEFAULT_POLICY_PATH, FREE_SAMPLING_POLICY_PATH)


def shipped_policy_path(power: PowerModel | None) -> Path:
    """The shipped file for a search's accounting (None: the full preset's regime)."""
    if power is not None and power.sampling_w == 0 and power.idle_w == 0:
        return FREE_SAMPLING_POLICY_PATH
    return DEFAULT_POLICY_PATH


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
    if policy_kind(model) is None:
        raise PolicyLoadError(
            f"RL policy file {path} was trained for observations {getattr(model.observation_space, 'shape', None)} "
            f"and {getattr(model.action_space, 'n', None)} actions; this version needs ({N_FEATURES},) or, with the "
            f"planner's advice, ({N_ADVISED_FEATURES},) and {len(ACTIONS)} (fractions), or ({N_RELATIVE_FEATURES},) and "
            f"{len(PLANNER_SETTINGS)} (planner settings): retrain with `cenas scheduler train`"
        )
    return model


def policy_kind(model: Any) -> str | None:
    """"fractions", "advised" or "planner" from a model's spaces; None for none of them."""
    shape = getattr(model.observation_space, "shape", None)
    actions = getattr(model.action_space, "n", None)
    if shape == (N_RELATIVE_FEATURES,) and actions == len(PLANNER_SETTINGS):
        return "planner"
    if actions == len(ACTIONS):
        return {(N_FEATURES,): "fractions", (N_ADVISED_FEATURES,): "advised"}.get(shape)
    return None


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
        self._explicit = path is not None or model is not None
        self.path = Path(path) if path is not None else DEFAULT_POLICY_PATH
        self._model = model
        self._advisor: Advisor | None = None
        self._actor: SettingsActor | None = None

    def load(self) -> Any:
        if self._model is None:
            self._model = load_model(self.path)
        return self._model

    def reset(self, context: EpisodeContext) -> None:
        super().reset(context)
        if not self._explicit:
            chosen = shipped_policy_path(context.power)
            if chosen != self.path:
                self.path, self._model = chosen, None
        self._advisor = self._actor = None
        kind = policy_kind(self.load())
        if kind == "advised":
            self._advisor = Advisor()
            self._advisor.reset(context)
        elif kind == "planner":
            self._actor = SettingsActor()
            self._actor.reset(context)

    def explain(self) -> dict[str, float | int]:
        """For a planner-kind file: the setting chosen (the most units it let the planner
        run at once, the price multiplier) and where the carbon envelope stands."""
        actor = self._actor
        if actor is None or actor.last_setting is None:
            return {}
        out: dict[str, float | int] = {"planner_max_units": actor.last_max_units, "planner_price_scale": actor.last_setting.price_scale}
        if actor.envelope is not None:
            out |= {"envelope_excess_g": round(actor.envelope.excess_g, 3), "envelope_budget_g": round(actor.envelope.budget_g, 3),
                    "envelope_overrides": actor.envelope.overrides, "envelope_overrode": int(actor.last_overridden)}
        return out

    def decide(self, observation: Observation) -> Allocation:
        if self._actor is not None:
            action, _ = self.load().predict(self._actor.observe(observation), deterministic=True)
            return self._actor.act(observation, int(action))
        action, _ = self.load().predict(advised_observation(observation, self.context, self._advisor), deterministic=True)
        return action_to_allocation(int(action), observation.gpus)
