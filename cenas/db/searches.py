"""Tables of the live system: searches and everything recorded about them.

The database is the system of record: every service rebuilds its state from these rows
after a restart. Uniqueness constraints make at-least-once delivery safe: an evaluation
is unique per (search, architecture), a sample batch per (search, batch id), a decision
per (search, interval), so a redelivered task or message can only insert once.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from uuid import uuid4

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return uuid4().hex


class SearchStatus(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (SearchStatus.SUCCEEDED, SearchStatus.FAILED, SearchStatus.CANCELLED)


def _when(**kw) -> object:
    return Field(sa_type=DateTime(timezone=True), **kw)


class Search(SQLModel, table=True):
    __tablename__ = "searches"
    id: str = Field(default_factory=new_id, primary_key=True)
    owner: str | None = Field(default=None, index=True)  # API key id; None for local CLI searches
    name: str
    status: SearchStatus = Field(default=SearchStatus.QUEUED, index=True)
    spec: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _when(default_factory=utcnow)
    started_at: datetime | None = _when(default=None)
    finished_at: datetime | None = _when(default=None)
    error: str | None = None
    # progress, updated by the optimizer service
    elapsed_hours: float = 0.0
    evaluations: int = 0
    samples: int = 0
    hypervolume: float = 0.0
    carbon_g: float = 0.0
    energy_kwh: float = 0.0
    pareto: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # the allocation currently applied (the latest decision)
    gpus_evaluation: int = 0
    gpus_sampling: int = 0
    gpus_idle: int = 0


class Evaluation(SQLModel, table=True):
    """One architecture trained from scratch, with the energy and carbon it cost."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("search_id", "code", name="uq_evaluation_arch"),)
    id: int | None = Field(default=None, primary_key=True)
    search_id: str = Field(foreign_key="searches.id", index=True)
    code: int
    architecture: str
    objectives: dict = Field(sa_column=Column(JSON, nullable=False))  # raw values by objective name
    gpu_seconds: float
    energy_kwh: float
    energy_source: str
    carbon_g: float
    worker: str
    started_at: datetime = _when()
    finished_at: datetime = _when(default_factory=utcnow)


class SampleBatch(SQLModel, table=True):
    """A batch of candidates scored by the supernet on a sampling GPU."""

    __tablename__ = "sample_batches"
    __table_args__ = (UniqueConstraint("search_id", "batch_id", name="uq_sample_batch"),)
    id: int | None = Field(default=None, primary_key=True)
    search_id: str = Field(foreign_key="searches.id", index=True)
    batch_id: int
    codes: list = Field(sa_column=Column(JSON, nullable=False))
    predicted: list = Field(sa_column=Column(JSON, nullable=False))  # maximised orientation, n x m
    gpu_seconds: float
    energy_kwh: float
    energy_source: str
    carbon_g: float
    worker: str
    finished_at: datetime = _when(default_factory=utcnow)


class Dispatch(SQLModel, table=True):
    """A task the optimizer handed to Celery; `done` once its result was recorded."""

    __tablename__ = "dispatches"
    __table_args__ = (UniqueConstraint("search_id", "kind", "key", name="uq_dispatch"),)
    id: int | None = Field(default=None, primary_key=True)
    search_id: str = Field(foreign_key="searches.id", index=True)
    kind: str  # "evaluate" (key = code) or "sample" (key = batch id)
    key: int
    codes: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    done: bool = False
    dispatched_at: datetime = _when(default_factory=utcnow)


class Decision(SQLModel, table=True):
    """The scheduler's allocation for one interval of one search."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("search_id", "interval", name="uq_decision_interval"),)
    id: int | None = Field(default=None, primary_key=True)
    search_id: str = Field(foreign_key="searches.id", index=True)
    interval: int
    valid_from: datetime = _when()
    gpus_evaluation: int
    gpus_sampling: int
    gpus_idle: int
    policy: str
    fallback: str | None = None  # why the heuristic stood in, when it did
    intensity: float
    forecast: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    inputs: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _when(default_factory=utcnow)


class IdleEnergy(SQLModel, table=True):
    """Energy a GPU allocated to a search drew while it had no task (waiting or parked)."""

    __tablename__ = "idle_energy"
    __table_args__ = (UniqueConstraint("search_id", "worker", "interval", name="uq_idle_interval"),)
    id: int | None = Field(default=None, primary_key=True)
    search_id: str = Field(foreign_key="searches.id", index=True)
    worker: str
    interval: int
    gpu_seconds: float
    energy_kwh: float
    energy_source: str
    carbon_g: float


class ApiKey(SQLModel, table=True):
    """Gateway credentials; only a hash of the key is stored."""

    __tablename__ = "api_keys"
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str
    key_hash: str = Field(index=True, unique=True)
    created_at: datetime = _when(default_factory=utcnow)
    revoked: bool = False


def create_search(engine, *, spec: dict, owner: str | None = None) -> Search:
    """Store a validated spec as a queued search (the caller announces `search.created`)."""
    from sqlmodel import Session

    search = Search(owner=owner, name=spec["name"], spec=spec)
    with Session(engine) as session:
        session.add(search)
        session.commit()
        session.refresh(search)
    return search


def _running_bundled_replays(engine) -> list[tuple[dict, datetime]]:
    """(spec, started_at) of running searches replaying a bundled trace (uploaded traces
    have no provider)."""
    from sqlmodel import Session, select

    with Session(engine) as session:
        rows = session.exec(select(Search.spec, Search.started_at).where(Search.status == SearchStatus.RUNNING)).all()
    return [(spec, started) for spec, started in rows
            if spec.get("carbon", {}).get("trace") is None and spec.get("carbon", {}).get("signal", "replay") == "replay"]


def running_replay_regions(engine) -> list[str]:
    """Bundled regions that running searches replay."""
    return sorted({spec["carbon"]["region"] for spec, _ in _running_bundled_replays(engine)})


def running_replay_instants(engine, at: datetime | None = None) -> list[tuple[str, datetime]]:
    """(region, trace time now) of every running search replaying a bundled trace."""
    from datetime import timedelta

    from cenas.carbon.traces import as_utc, load_region
    from cenas.clock import SearchClock

    out = []
    for spec, started_at in _running_bundled_replays(engine):
        carbon = spec["carbon"]
        start = as_utc(datetime.fromisoformat(carbon["start"])) if carbon.get("start") else load_region(carbon["region"]).start
        clock = SearchClock(start, started_at, carbon.get("seconds_per_hour", 3600.0))
        out.append((carbon["region"], start + timedelta(hours=clock.hours(at))))
    return out
