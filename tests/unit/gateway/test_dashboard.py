"""The dashboard's server side: the page and its assets, and the read-only endpoints it
plots (`/curve`, `/forecasts`). The page itself is driven in a real browser by
tests/integration/runtime/test_dashboard.py."""

from __future__ import annotations

import re
from datetime import timedelta
from importlib import resources

import numpy as np
import pytest
from sqlmodel import Session

from cenas.db.baselines import VanillaBaselineRecord, save_baseline
from cenas.db.forecasts import ForecastRecord
from cenas.db.searches import Evaluation, IdleEnergy, Search, SearchStatus, WorkSegment, utcnow
from cenas.pareto import hypervolume
from gateway.curve import hypervolume_2d, reference
from tests.unit.gateway.test_searches_api import submit

STATIC = resources.files("gateway").joinpath("static")


def test_root_redirects_to_the_dashboard_which_needs_no_key_and_holds_no_data(client):
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/ui"
    page = client.get("/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp and "form-action 'none'" in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert '<script src="/ui/static/app.js"' in page.text and "cenas_" not in page.text
    for asset, kind in (("app.js", "javascript"), ("app.css", "text/css")):
        response = client.get(f"/ui/static/{asset}")
        assert response.status_code == 200 and kind in response.headers["content-type"]
        assert response.headers["content-security-policy"] == csp
    assert client.get("/ui/static/nope.js").status_code == 404


def test_the_assets_ship_in_the_package_and_load_nothing_from_elsewhere():
    names = {p.name for p in STATIC.iterdir()}
    assert {"index.html", "app.js", "app.css"} <= names
    for name in names:
        text = STATIC.joinpath(name).read_text(encoding="utf-8")
        # the only absolute URL is the SVG namespace, which is a name, not a fetch
        assert set(re.findall(r"https?://[^\s\"'`)]+", text)) <= {"http://www.w3.org/2000/svg"}, name
    script = STATIC.joinpath("app.js").read_text(encoding="utf-8")
    assert re.findall(r"fetch\(([^,]+),", script) == ['"/v1" + path']  # one fetch: the public API
    assert "localStorage" not in script  # the key lives in sessionStorage only
    assert not re.search(r"<input[^>]*\bname=", STATIC.joinpath("index.html").read_text(encoding="utf-8"))  # nothing a form could submit


def test_hypervolume_2d_matches_botorch():
    rng = np.random.default_rng(3)
    ref = np.array([0.0, -50.0])
    for n in (1, 2, 7, 40):
        points = np.stack([rng.uniform(-5, 95, n), rng.uniform(-60, -1, n)], axis=1)
        assert hypervolume_2d(points, ref) == pytest.approx(hypervolume(points, ref), rel=1e-9, abs=1e-9)
    assert hypervolume_2d(np.zeros((0, 2)), ref) == 0.0


def test_curve_is_rebuilt_from_evaluations_and_ledger(client, alice, bob, engine):
    search_id = submit(client, alice)
    now = utcnow()
    finished = {5: 1.5, 9: 0.5, 11: 3.0}  # code: search hour its evaluation finished
    objectives = {5: (91.0, 30.0), 9: (80.0, 10.0), 11: (85.0, 40.0)}
    with Session(engine) as session:
        row = session.get(Search, search_id)
        for code, (acc, energy) in objectives.items():
            session.add(Evaluation(search_id=search_id, code=code, architecture=f"arch{code}", objectives={"accuracy": acc, "edgegpu_energy": energy},
                                   gpu_seconds=3600.0, energy_kwh=0.25, energy_source="model", carbon_g=100.0, worker="gpu0@h", started_at=now))
            session.add(WorkSegment(search_id=search_id, kind="evaluate", key=code, attempt=0, worker="gpu0@h", outcome="finished",
                                    started_at=now, ended_at=now, start_hours=finished[code] - 0.5, end_hours=finished[code],
                                    gpu_seconds=1800.0, energy_kwh=0.125, energy_source="model", carbon_g=100.0))
        session.add(IdleEnergy(search_id=search_id, worker="gpu1@h", interval=0, gpu_seconds=3600.0, energy_kwh=0.04,
                               energy_source="model", carbon_g=40.0, start_hours=0.0, end_hours=1.0))
        row.status, row.started_at, row.finished_at = SearchStatus.SUCCEEDED, now - timedelta(seconds=8), now
        row.elapsed_hours, row.evaluations, row.carbon_g = 4.0, 3, 340.0
        names, signs, ref = reference(row.spec)
        row.hypervolume = hypervolume(np.array([[signs[0] * a, signs[1] * e] for a, e in objectives.values()]), ref)
        session.add(row)
        session.commit()
        expected_final = row.hypervolume

    body = client.get(f"/v1/searches/{search_id}/curve", headers=alice)
    assert body.status_code == 200, body.text
    points = body.json()["points"]
    assert [p["hours"] for p in points] == [0.5, 1.5, 3.0, 4.0]  # in the order they finished, then the totals
    assert [p["evaluations"] for p in points] == [1, 2, 3, 3]
    hv = [p["hypervolume"] for p in points]
    assert hv == sorted(hv) and hv[2] == pytest.approx(expected_final) and hv[3] == hv[2]
    # carbon by 0.5 h: half the idle hour (20 g) and the first evaluation (100 g)
    assert points[0]["carbon_g"] == pytest.approx(120.0)
    assert points[2]["carbon_g"] == pytest.approx(340.0) and points[3]["carbon_g"] == pytest.approx(340.0)
    assert client.get(f"/v1/searches/{search_id}/curve", headers=bob).status_code == 404


def test_a_queued_search_has_a_one_point_curve(client, alice):
    search_id = submit(client, alice)
    points = client.get(f"/v1/searches/{search_id}/curve", headers=alice).json()["points"]
    assert points == [{"hours": 0.0, "evaluations": 0, "hypervolume": 0.0, "carbon_g": 0.0}]


def test_the_curve_carries_vanilla_once_the_scheduler_stored_it(client, alice, bob, engine):
    search_id = submit(client, alice)
    assert client.get(f"/v1/searches/{search_id}/curve", headers=alice).json()["baseline"] is None  # not simulated yet
    points = [{"hours": 0.0, "evaluations": 0, "hypervolume": 0.0, "carbon_g": 0.0},
              {"hours": 0.7, "evaluations": 1, "hypervolume": 2300.0, "carbon_g": 350.0}]
    save_baseline(engine, VanillaBaselineRecord(search_id=search_id, points=points, hours=1, final_hypervolume=2300.0,
                                                carbon_g=500.0, energy_kwh=1.5, evaluations=1))
    baseline = client.get(f"/v1/searches/{search_id}/curve", headers=alice).json()["baseline"]
    assert baseline == {"policy": "vanilla", "source": "simulator", "available": True, "reason": None, "points": points, "hours": 1,
                        "final_hypervolume": 2300.0, "carbon_g": 500.0, "energy_kwh": 1.5, "evaluations": 1}
    assert client.get(f"/v1/searches/{search_id}/curve", headers=bob).status_code == 404
    other = submit(client, alice)
    save_baseline(engine, VanillaBaselineRecord(search_id=other, reason="the simulator replays only nb201 searches"))
    baseline = client.get(f"/v1/searches/{other}/curve", headers=alice).json()["baseline"]
    assert baseline["available"] is False and baseline["points"] == [] and "nb201" in baseline["reason"]


def test_forecast_regions_list_what_is_stored(client, alice, engine):
    assert client.get("/v1/forecasts").status_code == 401
    assert client.get("/v1/forecasts", headers=alice).json() == {"regions": []}
    now = utcnow()
    with Session(engine) as session:
        for region, hours in (("US-CAL-CISO", 0), ("DE", 0), ("DE", 1)):
            session.add(ForecastRecord(region=region, issued_at=now + timedelta(hours=hours), published_at=now, model="seasonal_naive",
                                       signal="replay", points=[{"time": (now + timedelta(hours=hours + 1)).isoformat(), "intensity": 200.0}]))
        session.commit()
    assert client.get("/v1/forecasts", headers=alice).json() == {"regions": ["DE", "US-CAL-CISO"]}
