"""FastAPI dependencies: the gateway state, the caller's API key, the caller's search."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cenas.db.searches import ApiKey, Search
from gateway.auth import find_api_key
from gateway.state import Gateway
from gateway.store import owned_search

bearer = HTTPBearer(auto_error=False, description="An API key from `cenas keys create`.")


async def get_gateway(request: Request) -> Gateway:
    # async: no I/O, so no trip through the thread pool (a sync dependency costs one)
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="cenas"'})


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def authenticate(request: Request, gateway: Gateway, credentials: HTTPAuthorizationCredentials | None) -> ApiKey:
    """The caller's key; 401 when missing or wrong, 429 after too many failures from one client."""
    client = request.client.host if request.client else "unknown"
    if gateway.limiter.blocked(client):
        raise HTTPException(429, "too many failed authentications; try again later",
                            headers={"Retry-After": str(gateway.limiter.retry_after(client))})
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        gateway.limiter.record_failure(client)
        raise _unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    key = find_api_key(gateway.engine, key=credentials.credentials)
    if key is None:
        gateway.limiter.record_failure(client)
        raise _unauthorized("invalid or revoked API key")
    return key


def current_key(request: Request, gateway: GatewayDep, credentials: Credentials) -> ApiKey:
    return authenticate(request, gateway, credentials)


KeyDep = Annotated[ApiKey, Depends(current_key)]


#: what an id or a region name may look like: a 422 for anything else (NUL, controls,
#: spaces) instead of a query the database might refuse
NAME_PATTERN = r"^[A-Za-z0-9_.-]+$"
SearchId = Annotated[str, Path(min_length=1, max_length=64, pattern=NAME_PATTERN, description="a search id from `POST /v1/searches`")]


def caller_search(request: Request, gateway: GatewayDep, credentials: Credentials, search_id: SearchId) -> Search:
    """The caller's search ``search_id``; 404 for one that does not exist or is someone else's.

    Authenticates itself rather than depending on `current_key`: each sync dependency is
    one trip through the thread pool, and this way a search route takes one, not two.
    """
    key = authenticate(request, gateway, credentials)
    search = owned_search(gateway.engine, search_id=search_id, owner=key.id)
    if search is None:
        raise HTTPException(404, f"search {search_id} not found")
    return search


SearchDep = Annotated[Search, Depends(caller_search)]
Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many items")]
#: PostgreSQL's OFFSET is a bigint; a bound well inside it keeps huge values a 422, not a 503
MAX_OFFSET = 10**9
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="skip this many items")]
