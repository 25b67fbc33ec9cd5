"""A gymnasium environment over the simulator: one step = one hour of one simulated search.

Each `reset` draws a new episode, so one policy learns to generalise: a bundled region,
a start hour inside the training window (2021-2022 by default, with the forecast's
look-ahead kept inside it too), a pool size, a length, an accounting preset, a carbon cap
(or none) and a forecast source (`noisy`: the true future with lead-dependent noise of a
random day-1 sigma; `naive`: seasonal naive from the past). Everything is drawn from the
environment's own generator (seeded through `reset(seed=...)`), so runs are reproducible.

With `synthetic_probability` / `randomise_probability` the drawn episode is moved onto a
synthetic grid or a randomised copy of its trace (`cenas.carbon.synthetic`), so a policy
learns to read grids unlike the five real ones.

Observation and action depend on `actions`:
- `fractions`: the observation is `features.encode` (a `N_FEATURES` vector in [0, 4]),
  followed by the planner's advice (`advice.py`) when `planner_advice` is set; an action
  is an index into `actions.ACTIONS` (fractions of the pool evaluating / sampling, the
  rest idle).
- `planner`: the observation is `relative_features.encode_relative` and an action is an
  index into `settings.PLANNER_SETTINGS`, run through the carbon envelope.
Reward: `objective` (log-HV-gap potential gained minus the progress-weighted,
normalised carbon price of the hour, weighted by `carbon_weight`); it sums to the episode objective `J`.
An episode ends (`terminated`) when its hours are over or its carbon cap is reached;
both are part of the task, never truncations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from cenas.carbon.accounting import ACCOUNTING_PRESETS
from cenas.carbon.synthetic import FAMILIES, TEST_SEED_BASE, randomise, synthetic_values
from cenas.carbon.traces import BUNDLED_REGIONS, HOUR, CarbonTrace, bundled_trace_path, load_region
from cenas.tasks.nb201 import NB201Problem
from scheduler_svc.rl.actions import ACTIONS, action_to_allocation
from scheduler_svc.rl.advice import N_ADVISED_FEATURES, Advisor, observation
from scheduler_svc.rl.features import CLIP, N_FEATURES
from scheduler_svc.rl.relative_features import N_RELATIVE_FEATURES
from scheduler_svc.rl.settings import PLANNER_SETTINGS, SettingsActor
from scheduler_svc.simulator.allocation import Allocation, Observation
from scheduler_svc.rl.objective import CARBON_PRICE, REFERENCE_GPU_HOURS, carbon_reference_g, carbon_weight, potential
from scheduler_svc.simulator.engine import HISTORY_HOURS, SimulationConfig, Simulator
from scheduler_svc.simulator.forecasts import FORECAST_HOURS, NoisyForecast, SeasonalNaiveForecast, episode_forecast
from cenas.search.proposers import ProposerFactory, RandomProposer

#: Forecasts need a week of history (seasonal naive's spread) before the first hour.
WARMUP_HOURS = 24 * 8


@dataclass(frozen=True)
class EnvConfig:
    """What `reset` draws from. Bounds are inclusive; `start`/`end` bound the whole
    episode and its forecast look-ahead (UTC)."""

    regions: tuple[str, ...] = BUNDLED_REGIONS
    start: datetime = datetime(2021, 1, 1, tzinfo=timezone.utc)
    end: datetime = datetime(2023, 1, 1, tzinfo=timezone.utc)
    gpus: tuple[int, int] = (2, 16)
    hours: tuple[int, int] = (40, 120)
    #: accounting preset -> probability
    accounting: tuple[tuple[str, float], ...] = (("full", 0.7), ("paper", 0.3))
    cap_probability: float = 0.4
    #: cap as a fraction of vanilla's carbon for the episode, drawn log-uniformly
    cap_fraction: tuple[float, float] = (0.04, 0.8)
    #: forecast source -> probability
    forecasts: tuple[tuple[str, float], ...] = (("noisy", 0.6), ("naive", 0.4))
    noise_sigma: tuple[float, float] = (0.03, 0.25)
    carbon_price: float = CARBON_PRICE
    #: the reward's carbon price where sampling is free (None: `carbon_price`). Why: the
    #: price is per unit of vanilla's grams, and under free sampling a screened search
    #: reaches the target on about an eighth of them, so at the full-accounting price the
    #: reward barely tells a frugal plan from a wasteful one
    free_sampling_price: float | None = None
    #: append the `mpc` planner's decision for the same observation (`advice.py`)
    planner_advice: bool = False
    #: "fractions": actions are GPU fractions (`actions.py`), observations `features.py`;
    #: "planner": actions are the planner's settings (`settings.py`), observations
    #: `relative_features.py`, the carbon envelope on
    actions: str = "fractions"
    #: share of episodes on a synthetic grid (`cenas.carbon.synthetic`), and of the rest
    #: on a randomised copy of the drawn real trace
    synthetic_probability: float = 0.0
    randomise_probability: float = 0.0

    def __post_init__(self) -> None:
        if not self.regions:
            raise ValueError("regions must not be empty")
        for region in set(self.regions):
            bundled_trace_path(region)  # UnknownRegionError now, not at the first reset in a worker process
        for label, (lo, hi) in (("gpus", self.gpus), ("hours", self.hours)):
            if not 1 <= lo <= hi:
                raise ValueError(f"{label} range must satisfy 1 <= low <= high, got {(lo, hi)}")
        for label in ("cap_probability", "synthetic_probability", "randomise_probability"):
            if not 0 <= getattr(self, label) <= 1:
                raise ValueError(f"{label} must be in [0, 1], got {getattr(self, label)}")
        if self.actions not in ("fractions", "planner"):
            raise ValueError(f"actions must be 'fractions' or 'planner', got {self.actions!r}")
        if self.actions == "planner" and self.planner_advice:
            raise ValueError("planner_advice is for 'fractions' policies; 'planner' policies always see the planner")


#: Tiny episodes for unit tests.
TINY = EnvConfig(regions=("US-CAL-CISO",), gpus=(2, 4), hours=(6, 8), end=datetime(2021, 3, 1, tzinfo=timezone.utc))


class SchedulingEnv(gym.Env[np.ndarray, np.int64]):
    metadata = {"render_modes": []}

    def __init__(
        self,
        config: EnvConfig = EnvConfig(),
        *,
        problem: NB201Problem | None = None,
        proposer_factory: ProposerFactory | None = None,
    ) -> None:
        self.config = config
        self.problem = problem or NB201Problem()
        self.proposer_factory = proposer_factory or RandomProposer
        self.actor = SettingsActor() if config.actions == "planner" else None
        if self.actor is not None:
            width, n_actions = N_RELATIVE_FEATURES, len(PLANNER_SETTINGS)
        else:
            width, n_actions = (N_ADVISED_FEATURES if config.planner_advice else N_FEATURES), len(ACTIONS)
        self.observation_space = spaces.Box(0.0, CLIP, shape=(width,), dtype=np.float32)
        self.advisor = Advisor() if config.planner_advice else None
        self.action_space = spaces.Discrete(n_actions)
        self.sim: Simulator | None = None
        self.episode: dict[str, Any] = {}

    # --- episode drawing -----------------------------------------------------------------
    def _choice(self, weighted: tuple[tuple[str, float], ...]) -> str:
        names = [n for n, _ in weighted]
        weights = np.array([w for _, w in weighted], dtype=np.float64)
        return names[int(self.np_random.choice(len(names), p=weights / weights.sum()))]

    def _draw(self, options: dict[str, Any]) -> dict[str, Any]:
        cfg, rng = self.config, self.np_random
        region = options.get("region") or cfg.regions[int(rng.integers(len(cfg.regions)))]
        trace = load_region(region)
        hours = int(options.get("hours") or rng.integers(cfg.hours[0], cfg.hours[1] + 1))
        lo = max(trace.index_of(max(cfg.start, trace.start)), WARMUP_HOURS)
        hi = min(trace.index_of(min(cfg.end, trace.end)), len(trace) - 1) - hours - FORECAST_HOURS
        if "start" in options:
            first = trace.index_of(options["start"])
        elif hi < lo:
            raise ValueError(f"no room for a {hours}-hour episode in {region} between {cfg.start} and {cfg.end}")
        else:
            first = int(rng.integers(lo, hi + 1))
        trace, first, region = self._reshape(trace, first, hours, region, options)
        gpus = int(options.get("gpus") or rng.integers(cfg.gpus[0], cfg.gpus[1] + 1))
        accounting = options.get("accounting") or self._choice(cfg.accounting)
        power = ACCOUNTING_PRESETS[accounting]
        window = trace.values[first : first + hours]
        c_ref = carbon_reference_g(float(window.mean()), power)
        if "carbon_cap_g" in options:
            cap = options["carbon_cap_g"]
        elif rng.random() < cfg.cap_probability:
            lo_f, hi_f = np.log(cfg.cap_fraction[0]), np.log(cfg.cap_fraction[1])
            vanilla_g = c_ref * gpus * hours / REFERENCE_GPU_HOURS  # every GPU evaluating all along
            cap = float(vanilla_g * np.exp(rng.uniform(lo_f, hi_f)))
        else:
            cap = None
        source_name = options.get("forecast") or self._choice(cfg.forecasts)
        sim_seed = int(rng.integers(2**31 - 1))
        if source_name == "noisy":
            source = NoisyForecast(sigma_day1=float(rng.uniform(*cfg.noise_sigma)), seed=sim_seed)
        elif source_name == "naive":
            source = SeasonalNaiveForecast()
        else:
            from scheduler_svc.simulator.forecasts import make_forecast_source

            source = make_forecast_source(source_name, sim_seed)
        return {
            "region": region, "trace": trace, "first": first, "hours": hours, "gpus": gpus,
            "accounting": accounting, "power": power, "carbon_cap_g": cap, "forecast": source,
            "seed": sim_seed, "carbon_reference_g": c_ref,
        }

    def _reshape(self, trace: CarbonTrace, first: int, hours: int, region: str, options: dict[str, Any]) -> tuple[CarbonTrace, int, str]:
        """The drawn real episode, or a synthetic grid, or a randomised copy of it
        (`EnvConfig.synthetic_probability`, `randomise_probability`; `options["grid"]`:
        "real", "synthetic" or "randomised" fixes the choice)."""
        cfg, rng = self.config, self.np_random
        kind = options.get("grid")
        if kind is None:
            kind = "real"
            if rng.random() < cfg.synthetic_probability:
                kind = "synthetic"
            elif rng.random() < cfg.randomise_probability:
                kind = "randomised"
        if kind == "real":
            return trace, first, region
        length = WARMUP_HOURS + hours + FORECAST_HOURS + 1
        start = trace.start + (first - WARMUP_HOURS) * HOUR
        seed = int(rng.integers(TEST_SEED_BASE))  # below the test grids' seeds, always
        child = np.random.default_rng(seed)
        if kind == "synthetic":
            family = FAMILIES[int(rng.integers(len(FAMILIES)))]
            values, name = synthetic_values(family, child, length), f"synthetic/{family}@{seed}"
        elif kind == "randomised":
            others = [r for r in cfg.regions if r != region]
            donor = None
            if others:
                donor_trace = load_region(others[int(rng.integers(len(others)))])
                at = first - WARMUP_HOURS
                donor = donor_trace.values[at : at + length] if at + length <= len(donor_trace) else None
            values, name = randomise(trace.values[first - WARMUP_HOURS : first - WARMUP_HOURS + length], child, donor), f"{region}~randomised@{seed}"
        else:
            raise ValueError(f"grid must be real, synthetic or randomised, got {kind!r}")
        return CarbonTrace(name=name, start=start, values=values), WARMUP_HOURS, name

    # --- gymnasium API -------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        """`options` may fix any drawn quantity: region, start (datetime), hours, gpus,
        accounting, carbon_cap_g (None for uncapped), forecast (source name)."""
        super().reset(seed=seed)
        ep = self._draw(dict(options or {}))
        trace, first = ep["trace"], ep["first"]
        config = SimulationConfig(gpus=ep["gpus"], hours=ep["hours"], power=ep["power"], carbon_cap_g=ep["carbon_cap_g"])
        self.sim = Simulator(
            self.problem,
            trace.values[first : first + ep["hours"]],
            config,
            seed=ep["seed"],
            history=trace.values[max(0, first - HISTORY_HOURS) : first],
            proposer=self.proposer_factory(self.problem.space, self.problem.ref_point, ep["seed"]),
            forecast=episode_forecast(ep["forecast"], trace.values, first, FORECAST_HOURS),
        )
        self.context = self.sim.context()
        if self.advisor is not None:
            self.advisor.reset(self.context)
        if self.actor is not None:
            self.actor.reset(self.context)
        self.episode = ep
        self._potential = potential(0.0)
        return self._observe(self.sim.observe()), self._info()

    @property
    def price(self) -> float:
        """The reward's carbon price in this episode (see `EnvConfig.free_sampling_price`)."""
        cfg, power = self.config, self.episode["power"]
        if cfg.free_sampling_price is not None and power.sampling_w == 0:
            return cfg.free_sampling_price
        return cfg.carbon_price

    def _observe(self, obs: Observation) -> np.ndarray:
        self._last = obs
        if self.actor is not None:
            return self.actor.observe(obs)
        return observation(obs, self.context, self.advisor)

    def allocation(self, action: int) -> Allocation:
        """The allocation `action` stands for in the hour about to run."""
        if self.actor is not None:
            return self.actor.act(self._last, int(action))
        return action_to_allocation(int(action), self.context.gpus)

    def step(self, action: np.int64 | int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self.sim is None:
            raise RuntimeError("call reset() before step()")
        sim = self.sim
        carbon_before = sim.rows[-1].carbon_g
        row = sim.step(self.allocation(int(action)))
        new_potential = potential(row.hypervolume / self.problem.max_hypervolume)
        spent = row.carbon_g - carbon_before
        weight = carbon_weight(sim.rows[-2].hypervolume / self.problem.max_hypervolume)  # at the hour's start
        reward = (new_potential - self._potential) - self.price * weight * spent / self.episode["carbon_reference_g"]
        self._potential = new_potential
        terminated = sim.done
        # after the last hour there is no hour to observe: show the last one, with no time left
        seen = sim.observe() if sim.hour < sim.config.hours else self._final_observation()
        return self._observe(seen), float(reward), terminated, False, self._info()

    def _final_observation(self):
        sim = self.sim
        sim.hour -= 1  # observe() indexes the hour about to run; show the last one instead
        try:
            obs = sim.observe()
        finally:
            sim.hour += 1
        return replace(obs, hour=sim.config.hours)

    def _info(self) -> dict[str, Any]:
        sim, ep = self.sim, self.episode
        row = sim.rows[-1]
        return {
            "region": ep["region"], "start": ep["trace"].start.timestamp() + 3600 * ep["first"],
            "gpus": ep["gpus"], "hours": ep["hours"], "accounting": ep["accounting"],
            "carbon_cap_g": ep["carbon_cap_g"], "forecast": ep["forecast"].name,
            "hypervolume_fraction": row.hypervolume / self.problem.max_hypervolume,
            "carbon_g": row.carbon_g, "carbon_reference_g": ep["carbon_reference_g"],
        }
