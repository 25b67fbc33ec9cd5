"""The simulated vanilla-NAS curve of a search, stored once beside it.

The gateway may not run the simulator (it serves HTTP and imports no service), yet the
dashboard draws vanilla NAS beside the search: `cenas demo`, the composition root that
wires the simulator (scheduler_svc) to the optimizer's LaMOO, replays vanilla on the
search's own setting and keeps the result here. A row with `reason` set says why no
curve exists.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, DateTime, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel

from cenas.clock import utcnow


class VanillaBaselineRecord(SQLModel, table=True):
    __tablename__ = "vanilla_baselines"
    search_id: str = Field(primary_key=True, foreign_key="searches.id")
    source: str = "simulator"
    reason: str | None = None  # set: no curve for this search, and why
    points: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # hours, evaluations, hypervolume, carbon_g
    hours: int = 0
    seed: int = 0
    final_hypervolume: float = 0.0
    carbon_g: float = 0.0
    energy_kwh: float = 0.0
    evaluations: int = 0
    computed_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


def save_baseline(engine: Engine, record: VanillaBaselineRecord) -> bool:
    """Store ``record`` unless the search has one (another scheduler replica won); True if stored."""
    try:
        with Session(engine) as session:
            session.add(record)
            session.commit()
        return True
    except IntegrityError:
        return False


def baseline_of(engine: Engine, search_id: str) -> VanillaBaselineRecord | None:
    with Session(engine) as session:
        return session.get(VanillaBaselineRecord, search_id)
