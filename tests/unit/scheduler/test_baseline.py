"""Vanilla NAS simulated on a search's own setting (LaMOO proposing, as the search's
optimizer does): the curve the dashboard draws beside the search, stored by `cenas demo`."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sqlmodel import Session, select

from cenas.db import make_engine
from cenas.db.baselines import VanillaBaselineRecord, baseline_of
from cenas.db.searches import create_search
from cenas_cli.demo import _Vanilla
from cenas_cli.demo_report import optimizer_proposer
from cenas.settings import Settings
from cenas.spec import SearchSpec
from gateway.curve import hypervolume_2d, reference
from scheduler_svc.baseline import simulate_vanilla, unavailable_reason, vanilla_baseline

SPEC = SearchSpec.model_validate({
    "name": "baseline", "task": {"kind": "nb201"}, "gpus": 4, "budget": {"hours": 8},
    "carbon": {"region": "US-CAL-CISO", "start": "2021-07-02T06:00:00Z"}, "policy": "heuristic", "accounting": "full",
}).model_dump(mode="json")


def test_the_stored_curve_is_the_simulated_episode_on_the_gateways_scale():
    run = simulate_vanilla(SPEC, 8, optimizer_proposer(SPEC))
    result = run.result
    baseline = vanilla_baseline("s", SPEC, optimizer_proposer(SPEC))
    points = baseline.points
    assert baseline.reason is None and baseline.hours == 8 and len(result.evaluations) == baseline.evaluations > 0
    assert baseline.final_hypervolume == pytest.approx(result.final_hypervolume) and baseline.carbon_g == pytest.approx(result.carbon_g)
    for key in ("hours", "hypervolume", "carbon_g", "evaluations"):
        values = [p[key] for p in points]
        assert values == sorted(values), key
    assert points[0]["hours"] == 0 and points[-1]["hours"] == 8 and points[-1]["carbon_g"] == pytest.approx(result.carbon_g)
    assert points[-1]["hypervolume"] == pytest.approx(result.final_hypervolume)
    finished = sorted(e.finished_hour for e in result.evaluations)
    assert [p["hours"] for p in points if p["hours"] not in range(9)] == [t for t in finished if t not in range(9)]
    for row in result.rows:  # each hour's end as the simulator recorded it
        assert {"hours": row.hour, "evaluations": row.evaluations, "hypervolume": pytest.approx(row.hypervolume),
                "carbon_g": pytest.approx(row.carbon_g)} in points
    # the same hypervolume the gateway computes for a search's own evaluations: the two lines are comparable
    _, _, ref = reference(SPEC)
    assert hypervolume_2d(np.array([e.values for e in result.evaluations]), ref) == pytest.approx(baseline.final_hypervolume)


@pytest.mark.parametrize(("change", "why"), [
    ({"task": {"kind": "torch"}}, "torch"),
    ({"carbon": {"region": "DE", "signal": "electricitymaps"}}, "live"),
    ({"budget": {"hours": None, "carbon_g": 5000.0}}, "time budget"),
])
def test_searches_the_simulator_cannot_replay_say_why(change, why):
    assert unavailable_reason(SPEC) is None
    reason = unavailable_reason({**SPEC, **change})
    assert reason is not None and why in reason
    stored = vanilla_baseline("s", {**SPEC, **change})
    assert stored.reason == reason and stored.points == []


def test_the_demo_stores_its_vanilla_run_with_the_search_until_its_stack_stops(tmp_path):
    settings = Settings(data_dir=tmp_path, broker_url=None, database_url=None)
    engine = make_engine(settings)
    kept, dropped = create_search(engine, spec=SPEC), create_search(engine, spec=SPEC)
    vanilla = _Vanilla(SPEC, settings, kept.id)
    vanilla.start()
    result = vanilla.outcome()
    stored = baseline_of(engine, kept.id)
    assert stored is not None and stored.reason is None and stored.evaluations == len(result.evaluations)
    assert stored.points == vanilla_baseline(kept.id, SPEC, optimizer_proposer(SPEC)).points  # deterministic: the search's own seed
    assert stored.final_hypervolume == pytest.approx(result.final_hypervolume)
    late = _Vanilla(SPEC, settings, dropped.id)
    late.detach()  # the stack stopped before the simulation ended
    late.start()
    assert late.outcome() is not None and baseline_of(engine, dropped.id) is None
    with Session(engine) as session:
        assert len(session.exec(select(VanillaBaselineRecord)).all()) == 1
