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
    #: when the ledger was closed: every attempt of the finished search stopped and the
    #: unused GPU time of its last intervals charged (its totals are final)
    settled_at: datetime | None = _when(default=None)
    error: str | None = None
    #: what a user should know about an outcome (e.g. that no evaluation finished)
    warnings: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
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
    """One architecture trained from scratch, with the energy and carbon it cost (the sum
    of its work segments: a preempted run resumes in a later segment)."""

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
    started_at: datetime | None = _when(default=None)
    finished_at: datetime = _when(default_factory=utcnow)


class Dispatch(SQLModel, table=True):
    """A task the optimizer handed to Celery; `done` once its result was recorded.

    `attempt` counts the messages sent for it: a worker runs a message only while its
    attempt is the row's and `preempt` is not set, so withdrawing a task that has not
    started is one conditional update (`attempt + 1`), and a stale message is dropped.
    A worker sets `started_at` when it begins an attempt and `stopped_at` when it stopped
    one on request (its work segment recorded, the run to be resumed).
    """

    __tablename__ = "dispatches"
    __table_args__ = (UniqueConstraint("search_id", "kind", "key", name="uq_dispatch"),)
    id: int | None = Field(default=None, primary_key=True)
    search_id: str = Field(foreign_key="searches.id", index=True)
    kind: str  # "evaluate" (key = code) or "sample" (key = batch id)
    key: int
    codes: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    done: bool = False
    dispatched_at: datetime = _when(default_factory=utcnow)
    attempt: int = 0
    preempt: bool = False
    worker: str | None = None
    started_at: datetime | None = _when(default=None)
    stopped_at: datetime | None = _when(default=None)


class WorkSegment(SQLModel, table=True):
    """One stretch of one GPU working on one task attempt: the unit the ledger charges.

    A task that runs to its end is one segment (`finished`); one paused by a decision
    (`preempted`) or stopped by its search's end (`cut`) is charged up to where it stopped,
    and a resumed run adds a segment per attempt. `start_hours` / `end_hours` are search
    time (trace hours in replay, wall hours in live mode) since the search started.
    """

    __tablename__ = "work_segments"
    __table_args__ = (UniqueConstraint("search_id", "kind", "key", "attempt", name="uq_work_segment"),)
    id: int | None = Field(default=None, primary_key=True)
    search_id: str = Field(foreign_key="searches.id", index=True)
    kind: str  # "evaluate" or "sample"
    key: int
    attempt: int
    worker: str
    outcome: str  # "finished", "preempted" or "cut"
    started_at: datetime = _when()
    ended_at: datetime = _when()
    start_hours: float
    end_hours: float
    gpu_seconds: float  # search-time seconds of GPU work
    energy_kwh: float
    energy_source: str
    carbon_g: float


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
    fallback: str | None = None  # why the heuristic (or, live, the safe policy) stood in, when it did
    intensity: float
    stale: bool = False  # live: decided on the last good reading, the provider not answering
    forecast: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    inputs: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _when(default_factory=utcnow)


class IdleEnergy(SQLModel, table=True):
    """GPU time of a search's grant that no task used in one interval (parked by the
    decision, waiting for a candidate, between batches), charged at idle power."""

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
    start_hours: float | None = None  # the interval's span in search hours (None: recorded before 0002)
    end_hours: float | None = None


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


def running_replay_instants(engine, at: datetime | None = None) -> list[tuple[str, datetime, datetime]]:
    """(region, trace time now, trace start) of every running search replaying a bundled trace."""
    from datetime import timedelta

    from cenas.carbon.traces import as_utc, load_region
    from cenas.clock import SearchClock

    out = []
    for spec, started_at in _running_bundled_replays(engine):
        carbon = spec["carbon"]
        start = as_utc(datetime.fromisoformat(carbon["start"])) if carbon.get("start") else load_region(carbon["region"]).start
        clock = SearchClock(start, started_at, carbon.get("seconds_per_hour", 3600.0))
        out.append((carbon["region"], start + timedelta(hours=clock.hours(at)), start))
    return out
