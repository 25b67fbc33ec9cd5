"""The gateway's queries: keyword-only functions over the shared tables (no HTTP here).

Every read that concerns a search filters by owner, so a caller can never see (or learn
the existence of) another owner's search.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Engine, func, update
from sqlmodel import Session, SQLModel, select

from cenas.db.searches import Decision, Evaluation, Search, SearchStatus, utcnow

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
