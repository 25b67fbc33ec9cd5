"""The FastAPI application factory: `create_app(settings, engine=None, publisher=None)`.

No module-level state: the engine and the publisher are built in the lifespan (unless
passed in) and live on `app.state.gateway`. Outages of the database or the broker become
503 with a JSON detail, never a 500.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, DBAPIError, OperationalError

from cenas.bus import Publisher, PublishError, connect_from
from cenas.settings import Settings
from gateway.limits import BodyLimit
from gateway.metrics import make_registry
from gateway.routes import forecasts, health, searches, ui
from gateway.state import Gateway, SharedPublisher

log = logging.getLogger(__name__)


def create_app(settings: Settings, engine: Engine | None = None, publisher: Publisher | None = None) -> FastAPI:
    gateway = Gateway(settings, engine, SharedPublisher(publisher) if publisher is not None else None)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from cenas.db import SERVICE_START_WAIT_S, make_engine

        own_engine, own_publisher = gateway.engine is None, gateway.publisher is None
        if own_engine:
            gateway.engine = make_engine(settings, wait_s=SERVICE_START_WAIT_S)
        if own_publisher:
            gateway.publisher = SharedPublisher(Publisher(connection=connect_from(settings), max_retries=2, interval_start=0.2, interval_max=1.0))
        gateway.registry = make_registry(gateway.engine, settings)
        try:
            yield
        finally:
            if own_publisher:
                gateway.publisher.close()
            if own_engine:
                gateway.engine.dispose()

    app = FastAPI(
        title="CE-NAS gateway", version="1.0",
        description="Submit carbon-aware NAS searches and follow their progress. "
                    "Authenticate with `Authorization: Bearer <key>` (create one with `cenas keys create`).",
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    app.add_middleware(BodyLimit, max_bytes=settings.gateway_max_body_bytes,
                       discard_bytes=settings.gateway_discard_body_bytes,
                       discard_seconds=settings.gateway_discard_body_seconds)

    @app.exception_handler(DataError)
    async def unstorable_value(request: Request, exc: Exception) -> JSONResponse:
        # a value the edge let through but the database refuses (NUL in text, an integer
        # out of range): the request's fault, so a 422 in FastAPI's shape, not a 503
        log.warning("database refused a value on %s %r: %s", request.method, request.url.path,
                    gateway.redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
        return JSONResponse({"detail": [{"loc": ["request"], "msg": "a value the database cannot store", "type": "value_error"}]},
                            status_code=422)

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def database_down(request: Request, exc: Exception) -> JSONResponse:
        log.error("database error on %s %r: %s", request.method, request.url.path,
                  gateway.redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
        return JSONResponse({"detail": "database unavailable; try again later"}, status_code=503)

    @app.exception_handler(PublishError)
    async def broker_down(request: Request, exc: Exception) -> JSONResponse:
        log.error("broker error on %s %r: %s", request.method, request.url.path, gateway.redact(str(exc)))
        return JSONResponse({"detail": "message broker unavailable; try again later"}, status_code=503)

    app.include_router(health.router)
    app.include_router(searches.router, prefix="/v1")
    app.include_router(forecasts.router, prefix="/v1")
    app.include_router(ui.router)
    app.mount("/ui/static", ui.assets(), name="dashboard-assets")
    return app
