"""Transient dependency failures (database or broker away) make services wait, not fail."""

from __future__ import annotations

import pytest
from celery.exceptions import Reject
from sqlalchemy.exc import OperationalError

from worker.tasks import run_retrying


def test_transient_errors_are_retried_until_the_work_succeeds():
    calls, sleeps = [], []

    def work():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("SELECT 1", {}, ConnectionError("database is not accepting connections"))

    run_retrying(work, "evaluate", sleep=sleeps.append)
    assert len(calls) == 3 and sleeps == [0.5, 1.0]


def test_other_errors_propagate_at_once():
    with pytest.raises(ValueError):
        run_retrying(lambda: (_ for _ in ()).throw(ValueError("bad")), "evaluate", sleep=lambda s: None)


def test_a_dependency_away_too_long_requeues_the_message():
    with pytest.raises(Reject) as info:
        run_retrying(lambda: (_ for _ in ()).throw(ConnectionError("broker away")), "evaluate", retry_for_s=0.0, sleep=lambda s: None)
    assert info.value.requeue


def test_optimizer_tick_survives_a_database_outage_while_starting_queued_searches(monkeypatch):
    from optimizer_svc.service import OptimizerService

    service = OptimizerService(None, None, None, pool_gpus=4)  # type: ignore[arg-type]

    def down():
        raise OperationalError("SELECT 1", {}, ConnectionError("database is not accepting connections"))

    monkeypatch.setattr(service, "start_queued", down)
    service.tick()  # logged, not raised: the loop goes on

    monkeypatch.setattr(service, "start_queued", lambda: (_ for _ in ()).throw(RuntimeError("a bug")))
    with pytest.raises(RuntimeError):
        service.tick()


def test_a_service_engine_waits_for_an_unreachable_database(monkeypatch, tmp_path):
    from cenas.db import engine as engine_module
    from cenas.settings import Settings

    calls = []

    def migrate(engine):
        calls.append(1)
        if len(calls) < 2:
            raise OperationalError("SELECT 1", {}, ConnectionError("database is not accepting connections"))

    monkeypatch.setattr(engine_module, "migrate", migrate)
    monkeypatch.setattr("cenas.retry.time.sleep", lambda s: None)
    engine_module.make_engine(Settings(_env_file=None, data_dir=tmp_path), wait_s=60).dispose()
    assert len(calls) == 2

    calls.clear()  # without wait_s (the CLI) the error surfaces at once
    with pytest.raises(OperationalError):
        engine_module.make_engine(Settings(_env_file=None, data_dir=tmp_path))
