"""`/v1/searches`: submit, list, inspect, follow and cancel the caller's searches."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from cenas.contracts import SearchCancelled
from cenas.db.baselines import baseline_of
from cenas.db.searches import SearchStatus
from cenas.search.live import LiveSpecError, probe, with_live_defaults
from cenas.search.submit import submit_search
from cenas.spec import SearchSpec
from gateway import store
from gateway.deps import GatewayDep, KeyDep, Limit, Offset, SearchDep
from gateway.schemas import (
    BaselineOut, Created, CurveOut, CurvePoint, DecisionOut, EvaluationOut, LedgerRowOut, Objective, Page, ParetoOut, ParetoPoint, SearchOut, SignalOut, error_responses,
)

log = logging.getLogger(__name__)
router = APIRouter(tags=["searches"])
#: what every authenticated route may answer besides its success and 422
AUTH = error_responses(401, 429, 503)
NOT_FOUND = {**AUTH, **error_responses(404)}


@router.post("/searches", status_code=status.HTTP_201_CREATED, response_model=Created,
             responses={**AUTH, **error_responses(400, 413), 422: {"description": "invalid spec; `loc` names the field"}})
def create_search(spec: SearchSpec, gateway: GatewayDep, key: KeyDep) -> Created:
    """Validate and store a search (queued) and announce it to the optimizer. A live spec
    gets the deployment's decision interval, and its zone and credentials are checked
    with the provider first (a refusal is a 422 naming the field)."""
    if spec.carbon.signal != "replay":
        try:
            probe(spec, gateway.settings)
        except LiveSpecError as exc:
            raise RequestValidationError([{"loc": ("body", *exc.field), "msg": gateway.redact(str(exc)), "type": "value_error"}]) from None
        spec = with_live_defaults(spec, gateway.settings)
    # a broker outage after the row is stored answers 503 (app.py); the row stays queued
    # and the optimizer still starts it on its clock tick
    search = submit_search(gateway.engine, gateway.publisher, spec, owner=key.id)
    return Created(id=search.id, status=search.status)


@router.get("/searches", response_model=Page[SearchOut], responses=AUTH)
def list_searches(gateway: GatewayDep, key: KeyDep, limit: Limit = 50, offset: Offset = 0) -> Page[SearchOut]:
    """The caller's searches, newest first."""
    rows, total = store.list_searches(gateway.engine, owner=key.id, limit=limit, offset=offset)
    return Page[SearchOut](items=[SearchOut.of(s) for s in rows], total=total, limit=limit, offset=offset)


@router.get("/searches/{search_id}", response_model=SearchOut, responses=NOT_FOUND)
async def get_search(search: SearchDep) -> SearchOut:  # async: the row is loaded, no I/O left
    """Status, progress (hypervolume, carbon, energy) and the current GPU allocation."""
    return SearchOut.of(search)


@router.get("/searches/{search_id}/pareto", response_model=ParetoOut, responses=NOT_FOUND)
async def get_pareto(search: SearchDep) -> ParetoOut:  # async: the row is loaded, no I/O left
    """The non-dominated architectures evaluated so far, objective values in their own units."""
    return ParetoOut(objectives=[Objective.model_validate(o) for o in search.spec["task"]["objectives"]],
                     points=[ParetoPoint.model_validate(p) for p in search.pareto])


@router.get("/searches/{search_id}/curve", response_model=CurveOut, responses=NOT_FOUND)
def get_curve(search: SearchDep, gateway: GatewayDep) -> CurveOut:
    """Hypervolume against search hours and against grams of CO2, rebuilt from the stored
    evaluations and ledger (one point per finished evaluation, then the current totals):
    what the dashboard plots, also for a search opened after it finished; with vanilla NAS's
    simulated curve on the same setting where `cenas demo` stored one."""
    from gateway.curve import progress_curve

    stored = baseline_of(gateway.engine, search.id)
    baseline = None if stored is None else BaselineOut(
        available=stored.reason is None, reason=stored.reason, points=[CurvePoint.model_validate(p) for p in stored.points],
        hours=stored.hours, final_hypervolume=stored.final_hypervolume, carbon_g=stored.carbon_g, energy_kwh=stored.energy_kwh,
        evaluations=stored.evaluations)
    return CurveOut.model_validate({"points": progress_curve(gateway.engine, search=search), "baseline": baseline})


@router.get("/searches/{search_id}/evaluations", response_model=Page[EvaluationOut], responses=NOT_FOUND)
def get_evaluations(search: SearchDep, gateway: GatewayDep, limit: Limit = 100, offset: Offset = 0) -> Page[EvaluationOut]:
    """Architectures trained from scratch, in the order they finished, with their energy and carbon."""
    rows, total = store.evaluations_page(gateway.engine, search_id=search.id, limit=limit, offset=offset)
    return Page[EvaluationOut](items=[EvaluationOut.of(e) for e in rows], total=total, limit=limit, offset=offset)


@router.get("/searches/{search_id}/ledger", response_model=Page[LedgerRowOut], responses=NOT_FOUND)
def get_ledger(search: SearchDep, gateway: GatewayDep, limit: Limit = 100, offset: Offset = 0) -> Page[LedgerRowOut]:
    """Every charge of the search's GPU time: work segments of task attempts (finished,
    preempted by a decision, cut at the search's end), then each interval's unused GPU time.
    The search's `energy_kwh` and `carbon_g` are the sums of these rows."""
    rows, total = store.ledger_page(gateway.engine, search_id=search.id, limit=limit, offset=offset)
    return Page[LedgerRowOut](items=[LedgerRowOut.of(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get("/searches/{search_id}/signal", response_model=SignalOut, responses=NOT_FOUND)
def get_signal(search: SearchDep, gateway: GatewayDep, limit: Limit = 100, offset: Offset = 0) -> SignalOut:
    """The carbon signal the search is accounted and scheduled on: provider, zone, signal
    type (average or marginal), the source's state (stale during a provider outage) and,
    live, every reading in force over the search (values converted to gCO2eq/kWh, the
    provider's own value and unit beside them)."""
    return SignalOut.model_validate(store.signal_view(gateway.engine, search=search, limit=limit, offset=offset))


@router.get("/searches/{search_id}/decisions", response_model=Page[DecisionOut], responses=NOT_FOUND)
def get_decisions(search: SearchDep, gateway: GatewayDep, limit: Limit = 100, offset: Offset = 0) -> Page[DecisionOut]:
    """The scheduler's allocation per interval: GPUs per role, policy, intensity and the forecast used."""
    rows, total = store.decisions_page(gateway.engine, search_id=search.id, limit=limit, offset=offset)
    return Page[DecisionOut](items=[DecisionOut.of(d) for d in rows], total=total, limit=limit, offset=offset)


@router.delete("/searches/{search_id}", status_code=status.HTTP_202_ACCEPTED, response_model=SearchOut,
               responses={**NOT_FOUND, **error_responses(409)})
def cancel_search(search: SearchDep, gateway: GatewayDep) -> SearchOut:
    """Cancel a queued or running search: `search.cancelled` goes to the optimizer (which stops
    dispatching its work) and the row becomes `cancelled` at once. Cancelling a cancelled
    search is a no-op (202)."""
    if search.status in (SearchStatus.SUCCEEDED, SearchStatus.FAILED):
        raise HTTPException(409, f"search {search.id} already {search.status.value}; only queued or running searches can be cancelled")
    if search.status != SearchStatus.CANCELLED:
        gateway.publisher.publish(SearchCancelled(search_id=search.id))
        store.mark_cancelled(gateway.engine, search_id=search.id)
    fresh = store.owned_search(gateway.engine, search_id=search.id, owner=search.owner)
    return SearchOut.of(fresh or search)


@router.get("/searches/{search_id}/events", response_class=StreamingResponse, responses={
    **NOT_FOUND, 200: {"content": {"text/event-stream": {}}, "description": "`progress` events (a SearchOut without `spec`), then `end`"}})
async def follow_search(search: SearchDep, gateway: GatewayDep,
                        interval: Annotated[float, Query(ge=0.1, le=60, description="seconds between polls")] = 1.0) -> StreamingResponse:
    """Server-sent events: a `progress` event whenever the search changes, `end` once it finished."""

    async def stream():
        last = None
        while True:
            row = await run_in_threadpool(store.owned_search, gateway.engine, search_id=search.id, owner=search.owner)
            if row is None:
                return
            data = SearchOut.of(row).model_dump_json(exclude={"spec"})
            if data != last:
                yield f"event: progress\ndata: {data}\n\n"
                last = data
            if row.status.finished:
                yield f"event: end\ndata: {{\"status\": \"{row.status.value}\"}}\n\n"
                return
            await asyncio.sleep(interval)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
