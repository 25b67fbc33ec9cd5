"""What one simulated episode produced: hourly rows, evaluations and the progress curve."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class HourRow:
    """Cumulative figures at the end of `hour` hours; the GPU split and intensity are those of
    the hour just finished (hour 0: the starting state and the first hour's intensity)."""

    hour: int
    hypervolume: float
    carbon_g: float
    energy_kwh: float
    evaluations: int
    samples: int
    gpus_evaluation: int
    gpus_sampling: int
    gpus_idle: int
    intensity: float


@dataclass(frozen=True)
class EvaluationRecord:
    code: int
    finished_hour: float
    values: tuple[float, ...]  # maximised orientation
    gpu_seconds: float


@dataclass
class EpisodeResult:
    policy: str
    seed: int
    rows: list[HourRow] = field(default_factory=list)
    evaluations: list[EvaluationRecord] = field(default_factory=list)
    #: (time in hours, hypervolume after, carbon_g at that time), one point per improvement
    progress: list[tuple[float, float, float]] = field(default_factory=list)
    stopped_by_cap: bool = False

    @property
    def final_hypervolume(self) -> float:
        return self.rows[-1].hypervolume

    @property
    def carbon_g(self) -> float:
        return self.rows[-1].carbon_g

    @property
    def energy_kwh(self) -> float:
        return self.rows[-1].energy_kwh

    def first_reaching(self, hypervolume: float) -> tuple[float, float] | None:
        """(hours, grams of CO2) when the search first reached `hypervolume`, else None."""
        for when, hv, carbon in self.progress:
            if hv >= hypervolume:
                return when, carbon
        return None

    def to_summary_run(self) -> dict:
        """The `runs[]` entry of `summary.json` (API.md)."""
        return {
            "policy": self.policy,
            "seed": self.seed,
            "final_hypervolume": self.final_hypervolume,
            "carbon_g": self.carbon_g,
            "energy_kwh": self.energy_kwh,
            "evaluations": len(self.evaluations),
            "stopped_by_cap": self.stopped_by_cap,
            "trace": [asdict(row) for row in self.rows],
        }
