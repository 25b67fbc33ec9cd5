"""The gateway's queries: keyword-only functions over the shared tables (no HTTP here).

Every read that concerns a search filters by owner, so a caller can never see (or learn
the existence of) another owner's search.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Engine, func, update
from sqlmodel import Session, SQLModel, select

from cenas.db.readings import SIGNAL_TYPES, readings, source, staleness_s
from cenas.db.searches import Decision, Evaluation, IdleEnergy, Search, SearchStatus, WorkSegment, utcnow

Row = TypeVar("Row", bound=SQLModel)

#: what the optimizer writes when it cancels, so both paths leave the same row
CANCELLED_BY_OWNER = "cancelled by its owner"


def owned_search(engine: Engine, *, search_id: str, owner: str) -> Search | None:
    with Session(engine) as session:
        search = session.get(Search, search_id)
    return search if search is not None and search.owner == owner else None


def list_searches(engine: Engine, *, owner: str, limit: int, offset: int) -> tuple[list[Search], int]:
    """The owner's searches, newest first, and how many there are in all."""
    with Session(engine) as session:
        total = session.exec(select(func.count()).select_from(Search).where(Search.owner == owner)).one()
        rows = session.exec(
            select(Search).where(Search.owner == owner)
            .order_by(Search.created_at.desc(), Search.id.desc())  # type: ignore[attr-defined]
            .offset(offset).limit(limit)
        ).all()
    return list(rows), int(total)


def page_of(engine: Engine, table: type[Row], *, search_id: str, order_by, limit: int, offset: int) -> tuple[list[Row], int]:
    """Rows of ``table`` (Evaluation, Decision, ...) for one search, in ``order_by`` order."""
    column = table.search_id  # type: ignore[attr-defined]
    with Session(engine) as session:
        total = session.exec(select(func.count()).select_from(table).where(column == search_id)).one()
        rows = session.exec(select(table).where(column == search_id).order_by(order_by).offset(offset).limit(limit)).all()
    return list(rows), int(total)


def evaluations_page(engine: Engine, *, search_id: str, limit: int, offset: int) -> tuple[list[Evaluation], int]:
    return page_of(engine, Evaluation, search_id=search_id, order_by=Evaluation.id, limit=limit, offset=offset)


def ledger_page(engine: Engine, *, search_id: str, limit: int, offset: int) -> tuple[list[WorkSegment | IdleEnergy], int]:
    """Work segments (in the order they were recorded), then idle intervals."""
    segments, n_segments = page_of(engine, WorkSegment, search_id=search_id, order_by=WorkSegment.id, limit=limit, offset=offset)
    rest = limit - len(segments)
    idle_offset = max(0, offset - n_segments)
    idle, n_idle = page_of(engine, IdleEnergy, search_id=search_id, order_by=IdleEnergy.interval, limit=max(rest, 1), offset=idle_offset)
    return [*segments, *(idle[:rest] if rest > 0 else [])], n_segments + n_idle


def decisions_page(engine: Engine, *, search_id: str, limit: int, offset: int) -> tuple[list[Decision], int]:
    return page_of(engine, Decision, search_id=search_id, order_by=Decision.interval, limit=limit, offset=offset)


def mark_cancelled(engine: Engine, *, search_id: str) -> bool:
    """Set a queued or running search to cancelled; False if it had finished meanwhile.

    A conditional update, so it never overwrites a status the optimizer set first.
    """
    with Session(engine) as session:
        result = session.exec(  # type: ignore[call-overload]
            update(Search)
            .where(Search.id == search_id, Search.status.in_([SearchStatus.QUEUED, SearchStatus.RUNNING]))  # type: ignore[attr-defined]
            .values(status=SearchStatus.CANCELLED, finished_at=utcnow(), error=CANCELLED_BY_OWNER)
        )
        session.commit()
    return bool(result.rowcount)


def totals(engine: Engine) -> dict:
    """Figures for /metrics: searches by status, evaluations, energy, carbon, decisions."""
    with Session(engine) as session:
        by_status = {status: count for status, count in session.exec(select(Search.status, func.count()).group_by(Search.status)).all()}
        energy, carbon = session.exec(select(func.coalesce(func.sum(Search.energy_kwh), 0.0), func.coalesce(func.sum(Search.carbon_g), 0.0))).one()
        evaluations = session.exec(select(func.count()).select_from(Evaluation)).one()
        decisions = session.exec(select(func.count()).select_from(Decision)).one()
    return {
        "searches": {s.value: int(by_status.get(s, 0)) for s in SearchStatus},
        "evaluations": int(evaluations), "decisions": int(decisions),
        "energy_kwh": float(energy), "carbon_g": float(carbon),
    }


def signal_view(engine: Engine, *, search: Search, limit: int, offset: int) -> dict:
    """What SignalOut holds: the search's provider, zone and signal type, its source's
    state and the readings in force over it (live), oldest first, paged."""
    carbon = search.spec.get("carbon") or {}
    provider, zone = carbon.get("signal", "replay"), carbon.get("region", "")
    view = {"provider": provider, "zone": zone, "signal_type": SIGNAL_TYPES.get(provider, "average"),
            "interval_s": float(carbon.get("interval_s") or carbon.get("seconds_per_hour") or 3600.0),
            "forecast": carbon.get("forecast") or "model", "source": None, "readings": [], "total": 0, "limit": limit, "offset": offset}
    if provider == "replay":
        return view
    src = source(engine, provider, zone)
    view["source"] = ({"state": "unpolled"} if src is None else
                      {"state": src.state, "error": src.error, "last_ok_at": src.last_ok_at, "last_attempt_at": src.last_attempt_at,
                       "age_s": staleness_s(src)})
    if search.started_at is None:
        return view
    rows = readings(engine, provider, zone, search.started_at, search.finished_at)
    view["total"] = len(rows)
    view["readings"] = [{"fetched_at": r.fetched_at, "period_start": r.period_start, "intensity": r.value, "raw_value": r.raw_value,
                         "raw_unit": r.raw_unit, "estimated": r.estimated} for r in rows[offset:offset + limit]]
    return view


def forecast_regions(engine: Engine) -> list[str]:
    """Every region with a stored forecast, in name order (the dashboard's region picker)."""
    from cenas.db.forecasts import ForecastRecord

    with Session(engine) as session:
        return list(session.exec(select(ForecastRecord.region).distinct().order_by(ForecastRecord.region)).all())
