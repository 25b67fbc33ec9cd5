"""Isolation between keys, over the app's own route table (a new route cannot escape).

Every route is classified: public operations (no key), documentation, or a /v1 route
that needs a key. For each /v1 route, with each of its methods: no key is 401; another
key on the owner's search is 404 and leaves the search as it was; listings never show
another key's searches.
"""

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount
from sqlmodel import Session

from cenas.db.searches import Search, SearchStatus
from cenas.settings import Settings
from tests.unit.gateway.test_searches_api import submit
from tests.unit.kernel.test_spec import EXAMPLE, with_change

PUBLIC = {"/healthz", "/readyz", "/metrics"}
DOCUMENTATION = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
#: the dashboard's page and assets: no key, no data (its script calls /v1 with the key)
DASHBOARD = {"/", "/ui", "/ui/", "/ui/static"}
#: path parameters the test knows how to fill; a route with another one fails the test
FILL = {"search_id": "<alice's search>", "region": "DE"}



@pytest.fixture
def settings(tmp_path) -> Settings:  # each route is called without a key: keep clear of the limiter
    return Settings(_env_file=None, data_dir=tmp_path, broker_url=None, database_url=None, gateway_auth_failures_per_minute=1000)


def flat_routes(routes, prefix=""):
    """(full path template, route) for every route, included routers opened up."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:  # FastAPI >= 0.16x keeps an included router as one entry
            yield from flat_routes(included.routes, prefix + route.include_context.prefix)
        else:
            yield prefix + route.path, route


def operations(app):
    """(method, path template, route) for every HTTP method of every route."""
    for path, route in flat_routes(app.routes):
        if isinstance(route, Mount):  # static files: read-only
            yield "GET", path, route
            continue
        methods = getattr(route, "methods", None)
        assert methods, f"route {path} ({type(route).__name__}) has no HTTP methods: classify it in this test"
        for method in sorted(methods - {"HEAD"}):
            yield method, path, route


def call(client, method, path, headers):
    body = EXAMPLE if method == "POST" else None
    return client.request(method, path, headers=headers, json=body, params={"interval": 0.1} if path.endswith("/events") else None)


def test_every_route_is_classified_and_keys_see_only_their_own(client, alice, bob, engine):
    mine = submit(client, alice)
    seen = set()
    for method, template, route in operations(client.app):
        if template in DOCUMENTATION:
            assert not isinstance(route, APIRoute) or not route.include_in_schema
            continue
        if template in DASHBOARD:
            assert method == "GET"
            response = call(client, method, template + ("/app.js" if isinstance(route, Mount) else ""), {})
            assert response.status_code in (200, 307) and mine not in response.text
            continue
        if template in PUBLIC:
            assert method == "GET" and call(client, method, template, {}).status_code in (200, 503)
            assert mine not in call(client, method, template, {}).text
            continue
        assert template.startswith("/v1/"), f"unclassified route {method} {template}: add it to this test"
        params = {name for name in route.param_convertors}
        assert params <= set(FILL), f"{method} {template}: unknown path parameters {params - set(FILL)}"
        path = template.replace("{search_id}", mine).replace("{region}", FILL["region"])
        seen.add((method, template))

        assert call(client, method, path, {}).status_code == 401, (method, template)
        response = call(client, method, path, bob)
        if "search_id" in params:
            assert response.status_code == 404, (method, template, response.status_code)
            assert response.json() == {"detail": f"search {mine} not found"}
        else:  # not about one search: must not show alice's
            assert response.status_code in (200, 201, 404), (method, template, response.status_code)
            assert mine not in response.text
    with Session(engine) as session:
        assert session.get(Search, mine).status == SearchStatus.QUEUED  # bob's DELETE changed nothing
    assert ("DELETE", "/v1/searches/{search_id}") in seen and ("GET", "/v1/searches/{search_id}/events") in seen


def test_listing_never_shows_another_keys_searches(client, alice, bob):
    alices = {submit(client, alice, with_change("name", f"a{i}")) for i in range(3)}
    bobs = {submit(client, bob, with_change("name", f"b{i}")) for i in range(2)}
    for headers, own in ((alice, alices), (bob, bobs)):
        for query in ("", "?limit=1", "?limit=1&offset=1", "?offset=2", "?limit=1000"):
            page = client.get(f"/v1/searches{query}", headers=headers).json()
            assert {s["id"] for s in page["items"]} <= own and page["total"] == len(own)


def test_every_keyed_operation_documents_its_refusals(client):
    for path, item in client.get("/openapi.json").json()["paths"].items():
        for method, operation in item.items():
            codes = set(operation["responses"])
            if path.startswith("/v1/"):
                assert {"401", "429", "503"} <= codes, (method, path, codes)
                assert operation.get("security"), (method, path)
            if "{search_id}" in path:
                assert {"404", "422"} <= codes, (method, path, codes)
