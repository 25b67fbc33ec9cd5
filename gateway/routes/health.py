"""Unauthenticated operations endpoints: `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from gateway.deps import GatewayDep
from gateway.metrics import check_broker, check_database, render
from gateway.schemas import Health, error_responses

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:  # async: answers even when the thread pool is saturated
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health, "description": "a dependency is unreachable; `checks` says which"}})
def readyz(gateway: GatewayDep) -> Response:
    """Readiness: the database answers `SELECT 1` and the broker accepts a connection."""
    problems = {"database": check_database(gateway.engine), "broker": check_broker(gateway.settings)}
    health = Health(status="unavailable" if any(problems.values()) else "ok",
                    checks={name: gateway.redact(problem) if problem else "ok" for name, problem in problems.items()})
    return JSONResponse(health.model_dump(), status_code=503 if any(problems.values()) else 200)


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
                                                            **error_responses(503)})
def metrics(gateway: GatewayDep) -> Response:
    """Prometheus text format: searches by status, evaluations, energy, carbon, decisions, queue depths."""
    return Response(render(gateway.registry), media_type=CONTENT_TYPE_LATEST)
