"""The scheduler service decides what the simulator decides: given the same search, hour,
forecast and progress, both build the same observation and episode context, so every
policy makes the same decision under either accounting (the service once ran `paper`
searches with the full-accounting policy file, features and planner)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlmodel import Session

from cenas.carbon.accounting import accounting_preset
from cenas.db import make_engine, save_forecast
from cenas.contracts import CarbonForecast, ForecastPoint
from cenas.db.searches import Decision, Dispatch, SampleBatch, Search, SearchStatus, create_search
from cenas.search.context import build_context
from cenas.settings import Settings
from cenas.spec import SearchSpec
from scheduler_svc.service import SchedulerService
from scheduler_svc.simulator.allocation import Allocation
from scheduler_svc.simulator.engine import SimulationConfig, Simulator
from scheduler_svc.simulator.forecasts import Forecast, decision_forecast
from scheduler_svc.simulator.policies import make_policy
import scheduler_svc.rl  # noqa: F401  (registers rl, mpc and oracle)

START = datetime(2022, 5, 1, tzinfo=timezone.utc)
HOUR = 5  # the decision compared: the start of the search's sixth hour
POLICIES = ["vanilla", "oneshot", "heuristic", "static:3", "rl", "mpc", "oracle"]


def forecaster_points(issue: datetime, values: np.ndarray, spread: float) -> list[ForecastPoint]:
    """A forecast as the forecaster issues it: its first point is the issue hour itself."""
    return [ForecastPoint(time=issue + timedelta(hours=i), intensity=float(v), p10=float(v) - spread, p90=float(v) + spread)
            for i, v in enumerate(values)]


@pytest.mark.parametrize("accounting", ["full", "paper"])
def test_service_and_simulator_decide_alike(tmp_path, accounting):
    spec = SearchSpec.model_validate({
        "name": "parity", "task": {"kind": "nb201"}, "gpus": 8, "budget": {"hours": 20}, "policy": "heuristic",
        "carbon": {"region": "DE", "start": START.isoformat(), "seconds_per_hour": 3600}, "accounting": accounting,
    })
    ctx = build_context("x", spec, START)
    values = ctx.trace.values
    first = ctx.first_index
    issue = START + timedelta(hours=HOUR)
    points = forecaster_points(issue, values[first + HOUR : first + HOUR + 73] * 1.07, spread=25.0)
    issued = decision_forecast([p.model_dump(mode="json") for p in points], issue)
    assert issued is not None and len(issued.mean) == 72

    # the simulator, run to the start of HOUR with some progress and the same forecast then
    config = SimulationConfig(gpus=8, hours=20, power=accounting_preset(accounting))
    sim = Simulator(ctx.problem, values[first : first + 20], config, seed=0, history=values[:first],
                    forecast=lambda hour: issued if hour == HOUR else Forecast(np.zeros(0), np.zeros(0)))
    for _ in range(HOUR):
        sim.step(Allocation(evaluation=5, sampling=3))
    expected = sim.observe()
    assert expected.evaluations > 0 and expected.hypervolume_gain > 0 and expected.queued > 0

    # the same state in the database, as the optimizer and the forecaster leave it
    engine = make_engine(Settings(data_dir=tmp_path, broker_url=None, database_url=None))
    search = create_search(engine, spec=spec.model_dump(mode="json"))
    max_hv = ctx.problem.max_hypervolume
    with Session(engine) as session:
        row = session.get(Search, search.id)
        row.status, row.started_at = SearchStatus.RUNNING, datetime.now(timezone.utc) - timedelta(hours=HOUR, minutes=1)
        row.hypervolume, row.evaluations = expected.hypervolume_fraction * max_hv, expected.evaluations
        row.carbon_g, row.energy_kwh = expected.carbon_g, expected.energy_kwh
        session.add(row)
        previous_fraction = expected.hypervolume_fraction - expected.hypervolume_gain
        session.add(Decision(search_id=search.id, interval=HOUR - 1, valid_from=START, gpus_evaluation=5, gpus_sampling=3,
                             gpus_idle=0, policy="static:5", intensity=1.0, inputs={"hypervolume_fraction": previous_fraction}))
        waiting = list(range(expected.queued))
        session.add(SampleBatch(search_id=search.id, batch_id=0, codes=waiting, predicted=[], gpu_seconds=1.0, energy_kwh=0.0,
                                energy_source="model", carbon_g=0.0, worker="w"))
        for code in range(1000, 1000 + expected.carried):  # runs in flight carry on into the hour
            session.add(Dispatch(search_id=search.id, kind="evaluate", key=code))
        session.commit()
        session.refresh(row)
    save_forecast(engine, forecast=CarbonForecast(region="DE", issued_at=issue, published_at=issue, model="test",
                                                  signal="replay", points=points))

    service = SchedulerService(engine, publisher=None)
    live_ctx = build_context(search.id, row.spec, row.started_at)
    observed = service.observe(live_ctx, row, HOUR)
    for name in ("hour", "hours_total", "gpus", "intensity", "evaluations", "queued", "carried", "carbon_cap_g"):
        assert getattr(observed, name) == getattr(expected, name), name
    for name in ("hypervolume_fraction", "hypervolume_gain", "carbon_g", "energy_kwh"):
        assert getattr(observed, name) == pytest.approx(getattr(expected, name), rel=1e-12, abs=1e-12), name
    for name in ("intensity_history", "forecast", "forecast_std"):
        np.testing.assert_allclose(getattr(observed, name), getattr(expected, name), err_msg=name)
    assert observed.forecast_std.mean() > 0  # the band's spread reaches the policies

    for policy_name in POLICIES:
        in_simulator = make_policy(policy_name)
        in_simulator.reset(sim.context())
        policy_ctx = build_context(search.id, {**row.spec, "policy": policy_name}, row.started_at)
        in_service, fallback = service._policy(policy_ctx)  # the service's own path: one policy per search
        service._policies.clear()
        assert fallback is None and in_service.name == in_simulator.name, policy_name
        assert in_service.context == in_simulator.context, policy_name
        assert in_service.decide(observed) == in_simulator.decide(expected), policy_name
    engine.dispose()


def test_a_forecast_starts_at_the_hour_after_the_decision_whoever_issued_it():
    issue = START
    points = [p.model_dump(mode="json") for p in forecaster_points(issue, np.arange(100.0, 180.0), spread=10.0)]
    at_issue = decision_forecast(points, issue)
    assert at_issue.mean[0] == 101.0 and len(at_issue.mean) == 72  # the issue hour itself is observed, not forecast
    two_hours_on = decision_forecast(points, issue + timedelta(hours=2, minutes=30))
    assert two_hours_on.mean[0] == 103.0  # an older forecast is shifted, not passed through
    np.testing.assert_allclose(at_issue.std, 20.0 / 2.5631031310892007)
    assert decision_forecast(points, issue + timedelta(hours=200)) is None
