"""The observed carbon signal of live searches: every reading the forecaster fetched, and
the state of each (provider, zone) source.

A live search is accounted, scheduled and reported from these rows, so what a user sees
is what the provider said at the time: the reading in force at an instant is the newest
one fetched at or before it (a provider outage keeps the last good value in force, and
the source's state says it is stale). History rows (fetched for forecasting) carry the
provider's own hour and are never used for accounting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import DateTime, Engine, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, select

from cenas.carbon.signal import StepSignal
from cenas.carbon.traces import as_utc
from cenas.db.searches import Search, SearchStatus, utcnow

if TYPE_CHECKING:
    from cenas.search.context import SearchContext

#: what the two providers' signals are: Electricity Maps' average intensity of the zone's
#: mix, WattTime's marginal operating emissions rate of the next MWh
SIGNAL_TYPES: dict[str, str] = {"electricitymaps": "average", "watttime": "marginal"}
SourceState = Literal["ok", "stale", "failed"]


class CarbonReading(SQLModel, table=True):
    __tablename__ = "carbon_readings"
    __table_args__ = (UniqueConstraint("provider", "zone", "kind", "period_start", "fetched_at", name="uq_carbon_reading"),)
    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(index=True)
    zone: str = Field(index=True)
    kind: str = "latest"  # latest: a poll (accounted) | history: a past hour fetched for forecasting
    value: float  # gCO2eq/kWh, converted from the provider's unit
    raw_value: float  # as the provider sent it
    raw_unit: str  # e.g. gCO2eq/kWh, lbs_co2_per_mwh
    signal_type: str  # average | marginal
    period_start: datetime = Field(sa_type=DateTime(timezone=True))  # the provider's timestamp for the value
    fetched_at: datetime = Field(sa_type=DateTime(timezone=True), index=True)
    estimated: bool = False  # the provider marked the value estimated


class CarbonSource(SQLModel, table=True):
    """The last poll of one (provider, zone): `failed` is final for searches not started
    yet (bad credentials, unknown zone, garbage); `stale` is an outage (retried)."""

    __tablename__ = "carbon_sources"
    provider: str = Field(primary_key=True)
    zone: str = Field(primary_key=True)
    state: str = "ok"
    error: str | None = None
    last_ok_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    last_attempt_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    failures: int = 0  # consecutive failed polls


@dataclass(frozen=True)
class LiveZone:
    provider: str
    zone: str
    interval_s: float  # the shortest decision interval of the searches using it
    forecast: str  # model | provider (provider when any search asks for it)


def live_zones(engine: Engine) -> list[LiveZone]:
    """The (provider, zone) pairs queued or running live searches use."""
    with Session(engine) as session:
        searches = session.exec(select(Search).where(col(Search.status).in_([SearchStatus.QUEUED, SearchStatus.RUNNING]))).all()
    zones: dict[tuple[str, str], LiveZone] = {}
    for s in searches:
        carbon = s.spec.get("carbon") or {}
        provider = carbon.get("signal", "replay")
        if provider == "replay":
            continue
        key = (provider, carbon.get("region", ""))
        interval = float(carbon.get("interval_s") or 3600.0)
        forecast = carbon.get("forecast") or "model"
        if key in zones:
            old = zones[key]
            interval = min(interval, old.interval_s)
            forecast = "provider" if "provider" in (forecast, old.forecast) else "model"
        zones[key] = LiveZone(key[0], key[1], interval, forecast)
    return list(zones.values())


def save_reading(engine: Engine, reading: CarbonReading) -> None:
    with Session(engine) as session:
        exists = session.exec(select(CarbonReading.id).where(
            CarbonReading.provider == reading.provider, CarbonReading.zone == reading.zone, CarbonReading.kind == reading.kind,
            CarbonReading.period_start == reading.period_start, CarbonReading.fetched_at == reading.fetched_at)).first()
        if exists is None:
            session.add(reading)
            session.commit()


def save_history(engine: Engine, rows: list[CarbonReading]) -> None:
    """History hours not stored yet (one row per provider hour)."""
    if not rows:
        return
    with Session(engine) as session:
        first, last = min(r.period_start for r in rows), max(r.period_start for r in rows)
        have = {as_utc(t) for t in session.exec(select(CarbonReading.period_start).where(
            CarbonReading.provider == rows[0].provider, CarbonReading.zone == rows[0].zone, CarbonReading.kind == "history",
            CarbonReading.period_start >= first, CarbonReading.period_start <= last)).all()}
        session.add_all([r for r in rows if as_utc(r.period_start) not in have])
        session.commit()


def record_poll(engine: Engine, provider: str, zone: str, *, error: str | None = None, fatal: bool = False) -> CarbonSource:
    """Note one poll's outcome for the source (ok, stale outage, or failed)."""
    now = utcnow()
    with Session(engine) as session:
        source = session.get(CarbonSource, (provider, zone)) or CarbonSource(provider=provider, zone=zone)
        source.last_attempt_at = now
        if error is None:
            source.state, source.error, source.last_ok_at, source.failures = "ok", None, now, 0
        else:
            source.state, source.error, source.failures = ("failed" if fatal else "stale"), error, source.failures + 1
        session.add(source)
        session.commit()
        session.refresh(source)
        return source


def source(engine: Engine, provider: str, zone: str) -> CarbonSource | None:
    with Session(engine) as session:
        return session.get(CarbonSource, (provider, zone))


def carbon_sources(engine: Engine) -> list[CarbonSource]:
    with Session(engine) as session:
        return list(session.exec(select(CarbonSource).order_by(CarbonSource.provider, CarbonSource.zone)).all())


def staleness_s(src: CarbonSource | None, now: datetime | None = None) -> float | None:
    """Seconds since the source's last good poll (None: never polled successfully)."""
    if src is None or src.last_ok_at is None:
        return None
    return max(0.0, ((now or utcnow()) - as_utc(src.last_ok_at)).total_seconds())


def readings(engine: Engine, provider: str, zone: str, start: datetime, end: datetime | None = None,
             kind: str = "latest") -> list[CarbonReading]:
    """Readings fetched in ``[start, end]``, oldest first, with the one in force at ``start``."""
    with Session(engine) as session:
        before = session.exec(select(CarbonReading).where(
            CarbonReading.provider == provider, CarbonReading.zone == zone, CarbonReading.kind == kind,
            CarbonReading.fetched_at < start).order_by(col(CarbonReading.fetched_at).desc())).first()
        query = select(CarbonReading).where(CarbonReading.provider == provider, CarbonReading.zone == zone,
                                            CarbonReading.kind == kind, CarbonReading.fetched_at >= start)
        if end is not None:
            query = query.where(CarbonReading.fetched_at <= end)
        rows = list(session.exec(query.order_by(col(CarbonReading.fetched_at))).all())
    return ([before] if before is not None else []) + rows


def observed_signal(engine: Engine, provider: str, zone: str, started_at: datetime) -> StepSignal:
    """The signal a live search observed, in hours since ``started_at``."""
    t0 = as_utc(started_at)
    rows = readings(engine, provider, zone, t0)
    return StepSignal.of([((as_utc(r.fetched_at) - t0) / timedelta(hours=1), r.value) for r in rows])


def hourly_history(engine: Engine, provider: str, zone: str, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """Stored (provider hour, value) pairs in ``[start, end)``, history rows and polls alike
    (`cenas.carbon.providers.base.hourly` averages them into hours)."""
    with Session(engine) as session:
        rows = session.exec(select(CarbonReading).where(
            CarbonReading.provider == provider, CarbonReading.zone == zone,
            CarbonReading.period_start >= start, CarbonReading.period_start < end)).all()
    return [(as_utc(r.period_start), r.value) for r in rows]


def with_observed_signal(engine: Engine, ctx: SearchContext) -> SearchContext:
    """A live search's context with the signal observed so far (replay: unchanged)."""
    if not ctx.live or ctx.clock is None:
        return ctx
    return ctx.with_signal(observed_signal(engine, ctx.spec.carbon.signal, ctx.spec.carbon.region, ctx.clock.started_at))


def first_reading_since(engine: Engine, provider: str, zone: str, since: datetime) -> CarbonReading | None:
    with Session(engine) as session:
        return session.exec(select(CarbonReading).where(
            CarbonReading.provider == provider, CarbonReading.zone == zone, CarbonReading.kind == "latest",
            CarbonReading.fetched_at >= since).order_by(col(CarbonReading.fetched_at))).first()
