"""The scheduler service on a live search: decisions every `carbon.interval_s` of wall
time, on the observed signal, marked stale while the provider is away, and the safe
policy once it has been away for `fallback_after_intervals` intervals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from cenas.db import make_engine
from cenas.db.readings import CarbonReading, CarbonSource, record_poll, save_reading
from cenas.db.searches import Search, SearchStatus, create_search, utcnow
from cenas.settings import Settings
from scheduler_svc.service import SchedulerService

INTERVAL_S = 600.0


class Heard:
    def __init__(self) -> None:
        self.messages: list = []

    def publish(self, message, routing_key=None) -> None:
        self.messages.append(message)


@pytest.fixture
def live(tmp_path):
    engine = make_engine(Settings(_env_file=None, data_dir=tmp_path, broker_url=None, database_url=None))
    search = create_search(engine, spec={"name": "live", "task": {"kind": "nb201"}, "gpus": 4, "budget": {"hours": 2},
                                         "carbon": {"region": "DE", "signal": "electricitymaps", "interval_s": INTERVAL_S},
                                         "policy": "heuristic", "accounting": "full"})
    started = utcnow() - timedelta(seconds=2.5 * INTERVAL_S)  # the third interval is under way
    with Session(engine) as session:
        row = session.get(Search, search.id)
        row.status, row.started_at = SearchStatus.RUNNING, started
        session.add(row)
        session.commit()
    for k, value in enumerate([300.0, 320.0, 80.0]):  # one reading per interval; the last one clean
        at = started + timedelta(seconds=k * INTERVAL_S - 1)
        save_reading(engine, CarbonReading(provider="electricitymaps", zone="DE", value=value, raw_value=value, raw_unit="gCO2eq/kWh",
                                           signal_type="average", period_start=at, fetched_at=at))
    record_poll(engine, "electricitymaps", "DE")
    yield engine, search.id
    engine.dispose()


def decide(engine, search_id: str, fallback_after: int = 3):
    heard = Heard()
    SchedulerService(engine, heard, fallback_after_intervals=fallback_after).tick()
    (decision,) = heard.messages
    return decision


def test_a_live_decision_is_for_the_wall_clock_interval_on_the_observed_signal(live):
    engine, search_id = live
    decision = decide(engine, search_id)
    assert decision.interval == 2 and decision.intensity == 80.0 and not decision.stale
    assert decision.gpus_evaluation == 3  # 80 is below the trailing median: clean, all but one evaluate
    assert decision.inputs["hour"] == pytest.approx(2 * INTERVAL_S / 3600.0) and decision.inputs["signal_age_s"] < 5


def test_a_failed_poll_marks_the_decision_stale_on_the_last_good_value(live):
    engine, search_id = live
    record_poll(engine, "electricitymaps", "DE", error="electricitymaps: /latest server error (HTTP 503)")
    decision = decide(engine, search_id)
    assert decision.stale and decision.fallback is None and decision.intensity == 80.0 and decision.gpus_evaluation == 3


def test_a_long_outage_brings_the_safe_policy_and_says_why(live):
    engine, search_id = live
    record_poll(engine, "electricitymaps", "DE", error="electricitymaps: /latest server error (HTTP 503)")
    with Session(engine) as session:  # no good reading for four intervals
        src = session.get(CarbonSource, ("electricitymaps", "DE"))
        src.last_ok_at = utcnow() - timedelta(seconds=4 * INTERVAL_S)
        session.add(src)
        session.commit()
    decision = decide(engine, search_id, fallback_after=3)
    assert decision.stale and "stale for" in decision.fallback and "HTTP 503" in decision.fallback
    assert (decision.gpus_evaluation, decision.gpus_sampling, decision.gpus_idle) == (1, 3, 0)
