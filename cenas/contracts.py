"""Versioned message models carried on the bus (pydantic v2).

Every message has a ``schema_version``; a consumer refuses a major version it does not
know (the bus dead-letters it). Add fields with defaults for minor changes; bump
``SCHEMA_VERSION``'s major part for incompatible ones.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = "1.0"


class Message(BaseModel):
    """Base of every bus message; subclasses set ``kind`` and ``routing_prefix``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    routing_prefix: ClassVar[str] = ""

    schema_version: str = SCHEMA_VERSION

    @field_validator("schema_version")
    @classmethod
    def _known_major(cls, value: str) -> str:
        if value.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(f"unsupported schema_version {value!r}; this build reads {SCHEMA_VERSION}")
        return value


class ForecastPoint(BaseModel):
    """One forecast hour: its start, the point forecast and optional quantiles (gCO2eq/kWh)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    time: AwareDatetime
    intensity: float = Field(ge=0)
    p10: float | None = None
    p90: float | None = None


class CarbonForecast(Message):
    """``carbon.forecast.<region>``: the actual intensity now and the next hourly forecasts.

    ``stale`` is true when the provider could not be reached and this repeats the last
    good forecast; ``issued_at`` then stays the original issue time and ``published_at``
    says when it was sent.
    """

    routing_prefix: ClassVar[str] = "carbon.forecast"
    kind: Literal["carbon.forecast"] = "carbon.forecast"
    region: str = Field(min_length=1)
    issued_at: AwareDatetime
    published_at: AwareDatetime
    actual_intensity: float | None = Field(default=None, ge=0)
    actual_time: AwareDatetime | None = None
    model: str
    signal: str = Field(description="the provider the actual value came from: replay, electricitymaps, watttime")
    points: list[ForecastPoint]
    stale: bool = False

    @property
    def routing_key(self) -> str:
        return f"{self.routing_prefix}.{self.region}"

    @field_validator("issued_at", "published_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(timezone.utc)


class SearchCreated(Message):
    """``search.created``: a search was stored and waits to run."""

    routing_prefix: ClassVar[str] = "search.created"
    kind: Literal["search.created"] = "search.created"
    search_id: str = Field(min_length=1)


class SearchCancelled(Message):
    """``search.cancelled``: the owner asked to stop a search."""

    routing_prefix: ClassVar[str] = "search.cancelled"
    kind: Literal["search.cancelled"] = "search.cancelled"
    search_id: str = Field(min_length=1)


class ScheduleDecision(Message):
    """``schedule.decision.<search>``: GPUs per role for one interval of one search.

    ``fallback`` says why the heuristic stood in for the search's policy, when it did;
    ``stale`` that a live search's provider was not answering and the decision used the
    last good reading and the forecast.
    """

    routing_prefix: ClassVar[str] = "schedule.decision"
    kind: Literal["schedule.decision"] = "schedule.decision"
    search_id: str = Field(min_length=1)
    interval: int = Field(ge=0)
    valid_from: AwareDatetime
    gpus_evaluation: int = Field(ge=0)
    gpus_sampling: int = Field(ge=0)
    gpus_idle: int = Field(ge=0)
    policy: str
    fallback: str | None = None
    intensity: float = Field(ge=0)
    forecast: list[float] = Field(default_factory=list)
    inputs: dict[str, float | int | None] = Field(default_factory=dict)
    stale: bool = False

    @property
    def routing_key(self) -> str:
        return f"{self.routing_prefix}.{self.search_id}"


class SampleCompleted(Message):
    """``sample.completed``: a sampling GPU scored a batch of candidates."""

    routing_prefix: ClassVar[str] = "sample.completed"
    kind: Literal["sample.completed"] = "sample.completed"
    search_id: str = Field(min_length=1)
    batch_id: int = Field(ge=0)
    codes: list[int]
    predicted: list[list[float]]
    gpu_seconds: float = Field(ge=0)
    energy_kwh: float = Field(ge=0)
    worker: str


class EvaluationCompleted(Message):
    """``evaluation.completed``: an architecture was trained and its result recorded."""

    routing_prefix: ClassVar[str] = "evaluation.completed"
    kind: Literal["evaluation.completed"] = "evaluation.completed"
    search_id: str = Field(min_length=1)
    code: int = Field(ge=0)
    objectives: dict[str, float]  # raw values by objective name, in their own units
    gpu_seconds: float = Field(ge=0)
    energy_kwh: float = Field(ge=0)
    carbon_g: float = Field(ge=0)
    worker: str


class SearchProgress(Message):
    """``search.progress``: where a search stands."""

    routing_prefix: ClassVar[str] = "search.progress"
    kind: Literal["search.progress"] = "search.progress"
    search_id: str = Field(min_length=1)
    status: str
    elapsed_hours: float = Field(ge=0)
    evaluations: int = Field(ge=0)
    samples: int = Field(ge=0)
    hypervolume: float = Field(ge=0)
    carbon_g: float = Field(ge=0)
    energy_kwh: float = Field(ge=0)


#: Routing-key prefix -> message model, for consumers that decode by key.
REGISTRY: dict[str, type[Message]] = {
    model.routing_prefix: model
    for model in (CarbonForecast, SearchCreated, SearchCancelled, ScheduleDecision, SampleCompleted, EvaluationCompleted, SearchProgress)
}


def model_for_routing_key(key: str) -> type[Message] | None:
    """The message model for a routing key (longest registered prefix), or None."""
    best = None
    for prefix, model in REGISTRY.items():
        if (key == prefix or key.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, model)
    return best[1] if best else None
