"""The optimizer's side of the GPU-time ledger (`cenas.search.ledger`), on the database.

Workers record the segments they work; this module charges the rest of each interval's
grant (parked, waiting, between batches) as one `IdleEnergy` row per interval, once the
interval is over, and estimates what is not recorded yet (runs under way, the interval
in progress) for carbon caps. A running attempt is a dispatch a worker started and has
not stopped; its segment, written when it stops, replaces it, so no second is counted
twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, select

from cenas.carbon.accounting import GpuState
from cenas.db.searches import Dispatch, IdleEnergy, WorkSegment
from cenas.search.context import SearchContext
from cenas.search.ledger import SECONDS_PER_HOUR, interval_window, unused_gpu_seconds
from cenas.carbon.traces import as_utc

STATE_OF_KIND = {"evaluate": GpuState.EVALUATION, "sample": GpuState.SAMPLING}


@dataclass(frozen=True)
class Busy:
    start: float
    end: float
    state: GpuState


def busy_spans(session: Session, ctx: SearchContext, now_hours: float) -> tuple[list[Busy], list[Busy]]:
    """(recorded segments, attempts under way up to now) of the search."""
    assert ctx.clock is not None
    recorded = [Busy(a, b, STATE_OF_KIND[k]) for a, b, k in session.exec(
        select(WorkSegment.start_hours, WorkSegment.end_hours, WorkSegment.kind).where(WorkSegment.search_id == ctx.search_id)).all()]
    running = session.exec(select(Dispatch.started_at, Dispatch.kind).where(
        Dispatch.search_id == ctx.search_id, Dispatch.started_at != None, Dispatch.stopped_at == None)).all()  # noqa: E711
    return recorded, [Busy(ctx.clock.hours(as_utc(started)), now_hours, STATE_OF_KIND[kind]) for started, kind in running]


def _intervals(spans: tuple[list[Busy], list[Busy]]) -> list[tuple[float, float]]:
    return [(s.start, s.end) for group in spans for s in group]


def account_unused(engine: Engine, ctx: SearchContext, first: int, upto: int, end_hours: float | None, now_hours: float) -> int:
    """Write the idle row of every interval in ``[first, upto)`` (skipping those that have
    one); returns ``upto``. Idempotent: (search, worker, interval) is unique."""
    if upto <= first:
        return first
    with Session(engine) as session:
        spans = _intervals(busy_spans(session, ctx, now_hours))
        have = set(session.exec(select(IdleEnergy.interval).where(IdleEnergy.search_id == ctx.search_id,
                                                                  IdleEnergy.interval >= first, IdleEnergy.interval < upto)).all())
        for k in range(first, upto):
            if k in have:
                continue
            window = interval_window(k, ctx.interval_hours, end_hours)
            seconds = unused_gpu_seconds(ctx.spec.gpus, window, spans)
            if seconds <= 0:
                continue
            energy = ctx.power.energy_kwh(GpuState.IDLE, seconds)
            session.add(IdleEnergy(search_id=ctx.search_id, worker="pool", interval=k, gpu_seconds=seconds, energy_kwh=energy,
                                   energy_source="model", carbon_g=ctx.carbon_g(energy, *window),
                                   start_hours=window[0], end_hours=window[1]))
        session.commit()
    return upto


def unrecorded(engine: Engine, ctx: SearchContext, first: int, now_hours: float) -> tuple[float, float]:
    """(kWh, g) the ledger will charge for what has no row yet: attempts under way (at
    their state's power) and the unused grant of intervals from ``first`` up to now."""
    assert ctx.clock is not None
    kwh = grams = 0.0
    with Session(engine) as session:
        spans = busy_spans(session, ctx, now_hours)
    for span in spans[1]:
        energy = ctx.power.energy_kwh(span.state, (span.end - span.start) * SECONDS_PER_HOUR)
        kwh, grams = kwh + energy, grams + ctx.carbon_g(energy, span.start, span.end)
    start = first * ctx.interval_hours
    if now_hours > start:
        seconds = unused_gpu_seconds(ctx.spec.gpus, (start, now_hours), _intervals(spans))
        energy = ctx.power.energy_kwh(GpuState.IDLE, seconds)
        kwh, grams = kwh + energy, grams + ctx.carbon_g(energy, start, now_hours)
    return kwh, grams

