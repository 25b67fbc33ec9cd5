"""What a policy decides each interval, and what it sees when deciding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cenas.carbon.accounting import PowerModel


@dataclass(frozen=True)
class Allocation:
    """GPUs per role for one interval; the three always add up to the pool size."""

    evaluation: int
    sampling: int
    idle: int = 0

    def __post_init__(self) -> None:
        for role in ("evaluation", "sampling", "idle"):
            if getattr(self, role) < 0:
                raise ValueError(f"allocation.{role} must be >= 0, got {getattr(self, role)}")

    @property
    def total(self) -> int:
        return self.evaluation + self.sampling + self.idle

    def watts(self, power: PowerModel) -> float:
        """The pool's draw while every GPU is in its role (at the wall, before PUE)."""
        return self.evaluation * power.evaluation_w + self.sampling * power.sampling_w + self.idle * power.idle_w


@dataclass(frozen=True)
class EpisodeContext:
    """Fixed facts about an episode, given to a policy once before the first hour."""

    gpus: int
    hours: int
    carbon_cap_g: float | None
    max_hypervolume: float
    seed: int
    #: the accounting the episode is charged with: policies pick their regime from it
    #: (required, so that no caller can silently run a `paper` search as `full`)
    power: PowerModel


@dataclass(frozen=True)
class Observation:
    """The search's state at the start of an hour, as a policy sees it.

    `intensity_history` holds up to 24 hourly values ending with the current hour (older
    first); `forecast` the next hours' predicted intensity when a forecaster is wired in
    (up to 72 hours; fewer near the end of the trace) and `forecast_std` its standard
    deviation per lead hour when the source knows it.
    """

    hour: int
    hours_total: int
    gpus: int
    intensity: float
    intensity_history: np.ndarray
    forecast: np.ndarray | None
    hypervolume_fraction: float
    hypervolume_gain: float
    evaluations: int
    queued: int
    carried: int
    carbon_g: float
    energy_kwh: float
    carbon_cap_g: float | None
    forecast_std: np.ndarray | None = None

    @property
    def remaining_hours(self) -> int:
        return self.hours_total - self.hour
