"""Response models of the HTTP API (API.md), with examples for the OpenAPI schema.

Request bodies are the kernel's own models (`cenas.spec.SearchSpec`), so the gateway
validates exactly what the services accept.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cenas.db.searches import Decision, Evaluation, Search, SearchStatus

T = TypeVar("T")


def _as_utc(value: datetime) -> datetime:
    # the tables hold UTC; SQLite hands it back naive, PostgreSQL aware
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


#: a UTC timestamp, always serialised with its offset (RFC 3339 `date-time`)
UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]


def _example(**example) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [example]})


class Created(BaseModel):
    model_config = _example(id="3f0c6f1e2b8a4c55a0e1d9b7c6a5f4e3", status="queued")
    id: str
    status: SearchStatus


class Progress(BaseModel):
    model_config = _example(elapsed_hours=12.0, evaluations=31, samples=540, hypervolume=3921.4, carbon_g=812.5, energy_kwh=3.1)
    elapsed_hours: float
    evaluations: int
    samples: int
    hypervolume: float
    carbon_g: float
    energy_kwh: float


class Allocation(BaseModel):
    model_config = _example(evaluation=6, sampling=2, idle=0)
    evaluation: int
    sampling: int
    idle: int


class SearchOut(BaseModel):
    """One search as its owner sees it."""

    model_config = _example(
        id="3f0c6f1e2b8a4c55a0e1d9b7c6a5f4e3", name="hw-nas-demo", status="running",
        spec={"name": "hw-nas-demo", "task": {"kind": "nb201"}, "gpus": 8, "budget": {"hours": 80}},
        created_at="2026-01-01T12:00:00Z", started_at="2026-01-01T12:00:01Z", finished_at=None, error=None,
        progress=Progress.model_config["json_schema_extra"]["examples"][0],
        allocation=Allocation.model_config["json_schema_extra"]["examples"][0],
    )
    id: str
    name: str
    status: SearchStatus
    spec: dict
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    error: str | None
    progress: Progress
    allocation: Allocation

    @classmethod
    def of(cls, s: Search) -> SearchOut:
        return cls(
            id=s.id, name=s.name, status=s.status, spec=s.spec, created_at=s.created_at, started_at=s.started_at,
            finished_at=s.finished_at, error=s.error,
            progress=Progress(elapsed_hours=s.elapsed_hours, evaluations=s.evaluations, samples=s.samples,
                              hypervolume=s.hypervolume, carbon_g=s.carbon_g, energy_kwh=s.energy_kwh),
            allocation=Allocation(evaluation=s.gpus_evaluation, sampling=s.gpus_sampling, idle=s.gpus_idle),
        )


class Page(BaseModel, Generic[T]):
    """A slice of a longer list: ``items`` from ``offset``, at most ``limit``, of ``total``."""

    items: list[T]
    total: int
    limit: int
    offset: int


class Objective(BaseModel):
    name: str
    goal: Literal["max", "min"]


class ParetoPoint(BaseModel):
    architecture: str
    values: dict[str, float] = Field(description="raw objective values in their own units (accuracy in %, metrics as tabled)")


class ParetoOut(BaseModel):
    """The non-dominated evaluated architectures so far."""

    model_config = _example(
        objectives=[{"name": "accuracy", "goal": "max"}, {"name": "edgegpu_energy", "goal": "min"}],
        points=[{"architecture": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
                 "values": {"accuracy": 94.37, "edgegpu_energy": 31.2}}],
    )
    objectives: list[Objective]
    points: list[ParetoPoint]


class EvaluationOut(BaseModel):
    model_config = _example(code=1234, architecture="|nor_conv_3x3~0|+|...|", objectives={"accuracy": 93.1, "edgegpu_energy": 24.0},
                            gpu_seconds=14400.0, energy_kwh=1.0, energy_source="model", carbon_g=250.3, worker="gpu0@host",
                            started_at="2026-01-01T12:00:01Z", finished_at="2026-01-01T12:00:09Z")
    code: int
    architecture: str
    objectives: dict[str, float]
    gpu_seconds: float
    energy_kwh: float
    energy_source: str
    carbon_g: float
    worker: str
    started_at: UtcDatetime
    finished_at: UtcDatetime

    @classmethod
    def of(cls, e: Evaluation) -> EvaluationOut:
        return cls.model_validate(e, from_attributes=True)


class DecisionOut(BaseModel):
    model_config = _example(interval=3, valid_from="2021-07-02T09:00:00Z", gpus_evaluation=7, gpus_sampling=1, gpus_idle=0,
                            policy="heuristic", fallback=None, intensity=212.5, forecast=[210.0, 205.1, 230.4])
    interval: int
    valid_from: UtcDatetime
    gpus_evaluation: int
    gpus_sampling: int
    gpus_idle: int
    policy: str
    fallback: str | None
    intensity: float = Field(description="gCO2eq/kWh when the decision was taken")
    forecast: list[float] = Field(description="the hourly forecast the decision used, gCO2eq/kWh")

    @classmethod
    def of(cls, d: Decision) -> DecisionOut:
        return cls.model_validate(d, from_attributes=True)


class ForecastPointOut(BaseModel):
    time: UtcDatetime
    intensity: float
    p10: float | None = None
    p90: float | None = None


class ForecastOut(BaseModel):
    model_config = _example(region="US-CAL-CISO", issued_at="2021-07-02T06:00:00Z", published_at="2026-01-01T12:00:00Z",
                            model="lightgbm", signal="replay", actual_intensity=231.0, actual_time="2021-07-02T06:00:00Z",
                            stale=False, points=[{"time": "2021-07-02T07:00:00Z", "intensity": 225.4, "p10": None, "p90": None}])
    region: str
    issued_at: UtcDatetime
    published_at: UtcDatetime
    model: str
    signal: str
    actual_intensity: float | None
    actual_time: UtcDatetime | None
    stale: bool
    points: list[ForecastPointOut]


class Health(BaseModel):
    model_config = _example(status="ok", checks={"database": "ok", "broker": "ok"})
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    """The body of every error but 422: `detail` says what is wrong."""

    model_config = _example(detail="search 3f0c6f1e2b8a4c55a0e1d9b7c6a5f4e3 not found")
    detail: str


#: why each error status happens; 422 is FastAPI's own `HTTPValidationError`
ERRORS = {
    400: "malformed request: a body that is not JSON text, an invalid Content-Length",
    401: "missing or wrong API key (`WWW-Authenticate: Bearer`)",
    404: "no such search for this key (another key's search is not found either)",
    409: "the search already succeeded or failed",
    413: "request body larger than the gateway accepts",
    429: "too many failed authentications from this client (`Retry-After`)",
    503: "the database or the broker is unavailable; try again later",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for ``codes``, each with the `ErrorOut` body."""
    return {code: {"model": ErrorOut, "description": ERRORS[code]} for code in codes}
