"""The scheduler service on real RabbitMQ and PostgreSQL: one decision per search and hour,
published and persisted, with a stated fallback when the policy cannot be loaded."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import Session, select

from cenas.bus import Consumer, Publisher
from cenas.db.searches import Decision
from scheduler_svc.rl.policy import RLPolicy
from scheduler_svc.service import SchedulerService
from scheduler_svc.simulator import policies
from tests.integration.conftest import running_search

pytestmark = pytest.mark.integration


@pytest.fixture
def decisions(broker_url):
    received = []
    consumer = Consumer(broker_url, f"test-decisions-{uuid.uuid4().hex[:6]}", ["schedule.decision.*"], received.append)
    consumer.declare()
    yield consumer, received
    consumer.close()


def test_decision_is_published_persisted_and_idempotent(pg_engine, broker_url, decisions):
    consumer, received = decisions
    search = running_search(pg_engine, "heuristic")
    with Publisher(broker_url) as publisher:
        service = SchedulerService(pg_engine, publisher)
        assert service.tick() >= 1
        assert service.tick() == 0  # the hour is decided: nothing new
    consumer.drain(timeout=2.0)
    mine = [m for m in received if m.search_id == search.id]
    assert len(mine) == 1
    message = mine[0]
    assert message.interval == 0 and message.policy == "heuristic" and message.fallback is None
    assert message.gpus_evaluation + message.gpus_sampling + message.gpus_idle == 8
    with Session(pg_engine) as session:
        rows = session.exec(select(Decision).where(Decision.search_id == search.id)).all()
    assert len(rows) == 1 and rows[0].gpus_evaluation == message.gpus_evaluation
    assert rows[0].intensity == pytest.approx(message.intensity) and message.intensity > 0


def test_unloadable_policy_falls_back_to_the_heuristic_and_says_so(pg_engine, broker_url, decisions, tmp_path, monkeypatch):
    consumer, received = decisions
    monkeypatch.setitem(policies.POLICIES, "rl", lambda: RLPolicy(tmp_path / "missing.zip"))
    search = running_search(pg_engine, "rl")
    with Publisher(broker_url) as publisher:
        SchedulerService(pg_engine, publisher).tick()
    consumer.drain(timeout=2.0)
    message = next(m for m in received if m.search_id == search.id)
    assert message.policy == "heuristic"
    assert "policy rl unavailable" in message.fallback and "missing.zip" in message.fallback
