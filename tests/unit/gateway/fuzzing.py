"""Hostile input for the gateway: schemathesis over every operation of its OpenAPI schema.

Shared by `test_fuzz.py` (CI-sized) and `benchmarks/gateway_fuzz.py` (thousands of
requests). The app runs in process (ASGI) on SQLite and the embedded filesystem broker;
the failed-auth limiter is set out of reach so that 401 cases keep reaching the routes.

Every generated request goes out as one of several callers: the owner's key (most of the
time), no key, a wrong key, or another owner's key; and, where the path has a
`search_id`, with a random id or one of the owner's real searches (a succeeded one with
evaluations, decisions and a Pareto front, a cancelled one, another key's one), so the
serialisers and the 404/409 paths are fuzzed too, not only the lookups that miss.
Responses must pass schemathesis' four checks: no 5xx, a status the schema documents,
its content type, its body schema.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance
from sqlmodel import Session

from cenas.bus import Publisher, connect_from
from cenas.contracts import CarbonForecast, ForecastPoint
from cenas.db import make_engine, save_forecast
from cenas.db.searches import Decision, Evaluation, Search, SearchStatus, utcnow
from cenas.search.submit import submit_search
from cenas.settings import Settings
from cenas.spec import SearchSpec
from gateway import create_app
from gateway.auth import create_api_key
from tests.unit.kernel.test_spec import EXAMPLE

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FORECAST_REGION = "DE"
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


@dataclass
class Target:
    """The app under test and who may call it."""

    app: object
    headers: dict[str, dict[str, str]]  # caller -> headers
    search_ids: list[str]  # the owner's (and one of bob's) real searches
    close: object = None


@dataclass
class Report:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    server_errors: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # "operation: check" -> first message
    per_operation: Counter = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)  # operation and mode with nothing to generate

    def summary(self) -> str:
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses.items()))
        return f"{self.requests} requests, {self.server_errors} server errors, {len(self.failures)} distinct failures; statuses {codes}"


def build_target(tmp: Path, database_url: str | None = None) -> Target:
    """The app on SQLite in ``tmp`` (or ``database_url``) and the filesystem broker, seeded."""
    settings = Settings(_env_file=None, data_dir=tmp, broker_url=None, database_url=database_url,
                        gateway_max_body_bytes=64 * 1024, gateway_auth_failures_per_minute=10**9)
    engine = make_engine(settings)
    publisher = Publisher(connection=connect_from(settings))
    app = create_app(settings, engine, publisher)
    _, alice = create_api_key(engine, name="alice")
    _, bob = create_api_key(engine, name="bob")
    alice_row = _owner(engine, alice)
    spec = SearchSpec.model_validate(EXAMPLE)
    done = submit_search(engine, publisher, spec, owner=alice_row)
    cancelled = submit_search(engine, publisher, spec, owner=alice_row)
    others = submit_search(engine, publisher, spec, owner=_owner(engine, bob))
    with Session(engine) as session:
        row = session.get(Search, done.id)
        row.status, row.started_at, row.finished_at = SearchStatus.SUCCEEDED, utcnow(), utcnow()
        row.pareto = [{"architecture": ARCH, "values": {"accuracy": 94.0, "edgegpu_energy": 30.0}}]
        row.evaluations, row.carbon_g, row.gpus_evaluation = 2, 12.5, 7
        session.add(row)
        for code in (5, 9):
            session.add(Evaluation(search_id=done.id, code=code, architecture=ARCH, objectives={"accuracy": 90.0 + code, "edgegpu_energy": 30.0},
                                   gpu_seconds=100.0, energy_kwh=0.01, energy_source="model", carbon_g=6.25, worker="gpu0@h", started_at=utcnow()))
        session.add(Decision(search_id=done.id, interval=0, valid_from=utcnow(), gpus_evaluation=7, gpus_sampling=1, gpus_idle=0,
                             policy="heuristic", intensity=200.0, forecast=[210.0, 190.0]))
        for search_id in (cancelled.id, others.id):  # finished, so /events ends
            row = session.get(Search, search_id)
            row.status, row.finished_at = SearchStatus.CANCELLED, utcnow()
            session.add(row)
        session.commit()
    issued = utcnow()
    save_forecast(engine, forecast=CarbonForecast(
        region=FORECAST_REGION, issued_at=issued, published_at=issued, model="naive", signal="replay",
        points=[ForecastPoint(time=issued + timedelta(hours=1), intensity=300.0, p10=250.0, p90=350.0)]))

    def close() -> None:
        publisher.close()
        engine.dispose()

    headers = {"owner": {"Authorization": f"Bearer {alice}"}, "other": {"Authorization": f"Bearer {bob}"},
               "wrong": {"Authorization": "Bearer cenas_not-a-key"}, "none": {}}
    return Target(app, headers, [done.id, cancelled.id, others.id], close)


def _owner(engine, key: str) -> str:
    from gateway.auth import find_api_key

    return find_api_key(engine, key=key).id


def fuzz(target: Target, *, examples: int, modes=(GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
         seed: int | None = None, stop_on_failure: bool = True) -> Report:
    """``examples`` generated cases per operation and generation mode.

    With ``stop_on_failure`` the first failing check raises (hypothesis then shrinks it);
    otherwise every failure is counted and the run goes on (the benchmark).
    """
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.app)
    report = Report()
    callers = ["owner"] * 5 + ["none", "wrong", "other"]
    ids = [None, None] + target.search_ids
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation, mode in itertools.product(operations, modes):
        label = f"{operation.method.upper()} {operation.path}"

        @settings(max_examples=examples, deadline=None, database=None, derandomize=seed is not None,
                  suppress_health_check=list(HealthCheck), **({} if stop_on_failure else {"phases": [Phase.generate]}))
        @given(case=operation.as_strategy(generation_mode=mode), caller=st.sampled_from(callers),
               search_id=st.sampled_from(ids), region=st.sampled_from([None, FORECAST_REGION]))
        def one(case, caller, search_id, region) -> None:
            path = case.path_parameters or {}
            if search_id is not None and "search_id" in path:
                path["search_id"] = search_id
            if region is not None and "region" in path:
                path["region"] = region
            if case.headers:
                case.headers.pop("Authorization", None)
                case.headers.pop("authorization", None)
            headers = target.headers[caller]
            response = case.call(headers=headers)
            report.requests += 1
            report.per_operation[label] += 1
            report.statuses[response.status_code] += 1
            if response.status_code >= 500:
                report.server_errors += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except (Failure, FailureGroup) as exc:
                for failure in getattr(exc, "exceptions", None) or [exc]:
                    report.failures.setdefault(f"{label} [{mode.value}] {failure.title}", str(exc)[:2000])
                if stop_on_failure:
                    raise

        try:
            one()
        except Unsatisfiable:  # negative mode on an operation without inputs: nothing to break
            report.skipped.append(f"{label} [{mode.value}]")
    return report
