"""Response models of the HTTP API (API.md), with examples for the OpenAPI schema.

Request bodies are the kernel's own models (`cenas.spec.SearchSpec`), so the gateway
validates exactly what the services accept.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from cenas.db.searches import Decision, Evaluation, IdleEnergy, Search, SearchStatus, WorkSegment

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
    settled_at: UtcDatetime | None = Field(default=None, description="when the totals became final: every task of the finished "
                                           "search stopped and its GPU time is charged")
    error: str | None
    warnings: list[str] = Field(default_factory=list, description="what to know about the outcome, e.g. that no evaluation finished")
    progress: Progress
    allocation: Allocation

    @classmethod
    def of(cls, s: Search) -> SearchOut:
        return cls(
            id=s.id, name=s.name, status=s.status, spec=s.spec, created_at=s.created_at, started_at=s.started_at,
            finished_at=s.finished_at, settled_at=s.settled_at, error=s.error, warnings=list(s.warnings or []),
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


class LedgerRowOut(BaseModel):
    """One charge of the search's GPU-time ledger: a work segment of a task attempt, or the
    unused GPU time of one interval (`state` idle). The search's totals are their sums."""

    model_config = _example(state="evaluation", key=1234, attempt=0, outcome="finished", worker="gpu0@host", start_hours=2.5,
                            end_hours=4.1, started_at="2026-01-01T12:00:03Z", ended_at="2026-01-01T12:00:05Z",
                            gpu_seconds=5760.0, energy_kwh=0.4, energy_source="model", carbon_g=158.0)
    state: Literal["evaluation", "sampling", "idle"]
    key: int = Field(description="architecture code (evaluation), batch id (sampling) or interval (idle)")
    attempt: int | None = Field(description="the task attempt; a preempted run resumes in a later one (null for idle)")
    outcome: str = Field(description="finished, preempted, cut (stopped by the search's end) or unused (idle)")
    worker: str
    start_hours: float | None = Field(description="search hours since the search started (trace hours in replay)")
    end_hours: float | None
    started_at: UtcDatetime | None
    ended_at: UtcDatetime | None
    gpu_seconds: float
    energy_kwh: float
    energy_source: str
    carbon_g: float

    @classmethod
    def of(cls, row: WorkSegment | IdleEnergy) -> LedgerRowOut:
        if isinstance(row, IdleEnergy):
            return cls(state="idle", key=row.interval, attempt=None, outcome="unused", worker=row.worker, start_hours=row.start_hours,
                       end_hours=row.end_hours, started_at=None, ended_at=None, gpu_seconds=row.gpu_seconds,
                       energy_kwh=row.energy_kwh, energy_source=row.energy_source, carbon_g=row.carbon_g)
        return cls(state="evaluation" if row.kind == "evaluate" else "sampling", key=row.key, attempt=row.attempt, outcome=row.outcome,
                   worker=row.worker, start_hours=row.start_hours, end_hours=row.end_hours, started_at=row.started_at,
                   ended_at=row.ended_at, gpu_seconds=row.gpu_seconds, energy_kwh=row.energy_kwh, energy_source=row.energy_source,
                   carbon_g=row.carbon_g)


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
    forecast: list[float] = Field(description="the forecast the decision used, one value per decision interval ahead, gCO2eq/kWh")
    stale: bool = Field(default=False, description="live: the provider was not answering; decided on the last good reading")

    @classmethod
    def of(cls, d: Decision) -> DecisionOut:
        return cls.model_validate(d, from_attributes=True)


class CurvePoint(BaseModel):
    hours: float = Field(description="search hours since the search started (trace hours in replay)")
    evaluations: int = Field(description="evaluations finished by then")
    hypervolume: float = Field(description="hypervolume of those evaluations, against the problem's reference point")
    carbon_g: float = Field(description="gCO2eq charged by then (each ledger charge spread evenly over its span)")


class BaselineOut(BaseModel):
    """Vanilla NAS (every GPU trains the optimizer's proposals, no supernet) simulated on the
    search's own problem, trace, start, GPUs, accounting and seed (`cenas demo` stores it)."""

    policy: Literal["vanilla"] = "vanilla"
    source: Literal["simulator"] = "simulator"
    available: bool = Field(description="false: no simulated curve for this search; `reason` says why (torch or live searches)")
    reason: str | None = None
    points: list[CurvePoint] = Field(default_factory=list, description="every hypervolume improvement and every hour's end")
    hours: int = Field(0, description="trace hours simulated (the search's time budget)")
    final_hypervolume: float = 0.0
    carbon_g: float = Field(0.0, description="gCO2eq vanilla NAS spends over those hours")
    energy_kwh: float = 0.0
    evaluations: int = 0


class CurveOut(BaseModel):
    """Hypervolume against search hours and grams of CO2: one point per finished evaluation,
    then the search's current totals; and vanilla NAS's simulated curve beside it, once the
    demo has stored it (null for other searches, and until then)."""

    model_config = _example(points=[{"hours": 1.2, "evaluations": 1, "hypervolume": 2210.5, "carbon_g": 310.2},
                                    {"hours": 3.0, "evaluations": 4, "hypervolume": 3120.0, "carbon_g": 845.9}],
                            baseline=None)
    points: list[CurvePoint]
    baseline: BaselineOut | None = None


class ReadingOut(BaseModel):
    """One observed intensity: in force from `fetched_at` until the next reading."""

    fetched_at: UtcDatetime
    period_start: UtcDatetime = Field(description="the provider's timestamp for the value")
    intensity: float = Field(description="gCO2eq/kWh, as accounted")
    raw_value: float = Field(description="the value as the provider sent it, in raw_unit")
    raw_unit: str
    estimated: bool


class SourceOut(BaseModel):
    state: Literal["ok", "stale", "failed", "unpolled"]
    error: str | None = None
    last_ok_at: UtcDatetime | None = None
    last_attempt_at: UtcDatetime | None = None
    age_s: float | None = Field(default=None, description="seconds since the last good reading")


class SignalOut(BaseModel):
    """The carbon signal a search is accounted and scheduled on."""

    model_config = _example(provider="watttime", zone="US-CAL-CISO", signal_type="marginal", interval_s=3600.0, forecast="model",
                            source={"state": "ok", "age_s": 42.0}, total=1, limit=100, offset=0,
                            readings=[{"fetched_at": "2026-12-03T12:00:04Z", "period_start": "2026-12-03T12:00:00Z",
                                       "intensity": 412.3, "raw_value": 909.0, "raw_unit": "lbs_co2_per_mwh", "estimated": False}])
    provider: str = Field(description="replay, electricitymaps or watttime")
    zone: str
    signal_type: str = Field(description="average (Electricity Maps, replayed traces) or marginal (WattTime)")
    interval_s: float = Field(description="decision interval in wall seconds (replay: one trace hour)")
    forecast: str = Field(description="model (the shipped forecaster) or provider (the provider's own forecast)")
    source: SourceOut | None = Field(description="live: the provider's state for this zone")
    readings: list[ReadingOut] = Field(description="live: the readings over the search, oldest first (paged); replay: empty")
    total: int
    limit: int
    offset: int


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


class ForecastRegionsOut(BaseModel):
    model_config = _example(regions=["DE", "US-CAL-CISO"])
    regions: list[str] = Field(description="regions with a stored forecast, in name order")


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
