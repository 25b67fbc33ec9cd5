import pytest
from pydantic import ValidationError
from sqlmodel import Session, select

from cenas.bus import Consumer, Publisher, connect_from
from cenas.db import make_engine
from cenas.db.searches import Search, SearchStatus
from cenas.search.submit import submit_search
from cenas.settings import Settings
from tests.unit.kernel.test_spec import EXAMPLE, with_change


def test_submit_stores_a_queued_search_and_announces_it(tmp_path):
    settings = Settings(data_dir=tmp_path, broker_url=None, database_url=None)
    engine = make_engine(settings)
    heard = []
    consumer = Consumer(None, "test-submit", ["search.created"], heard.append, connection=connect_from(settings))
    consumer.declare()
    with Publisher(connection=connect_from(settings)) as publisher:
        search = submit_search(engine, publisher, EXAMPLE)
        with pytest.raises(ValidationError, match="gpus"):
            submit_search(engine, publisher, with_change("gpus", 0))
    consumer.drain(timeout=1.0)
    consumer.close()
    with Session(engine) as session:
        rows = session.exec(select(Search)).all()
    assert [r.id for r in rows] == [search.id] and rows[0].status == SearchStatus.QUEUED
    assert [m.search_id for m in heard] == [search.id]
    engine.dispose()


def test_running_replay_regions_lists_bundled_regions_of_running_searches_only(tmp_path):
    from cenas.db.searches import create_search, running_replay_regions

    engine = make_engine(Settings(data_dir=tmp_path, broker_url=None, database_url=None))
    uploaded = {"region": "MY-GRID", "trace": [{"timestamp": "2021-01-01T00:00:00Z", "carbon_intensity": 100.0}]}
    rows = [create_search(engine, spec={**EXAMPLE, "carbon": carbon}) for carbon in
            ({"region": "DE"}, {"region": "GB"}, uploaded, {"region": "US-TEX-ERCO"})]
    with Session(engine) as session:
        for row, status in zip(rows, (SearchStatus.RUNNING, SearchStatus.QUEUED, SearchStatus.RUNNING, SearchStatus.RUNNING)):
            stored = session.get(Search, row.id)
            stored.status = status
            session.add(stored)
        session.commit()
    assert running_replay_regions(engine) == ["DE", "US-TEX-ERCO"]
    engine.dispose()


def test_running_replay_instants_follow_each_searchs_own_clock(tmp_path):
    from datetime import datetime, timedelta, timezone

    from cenas.db.searches import create_search, running_replay_instants

    engine = make_engine(Settings(data_dir=tmp_path, broker_url=None, database_url=None))
    started = datetime(2026, 1, 1, tzinfo=timezone.utc)
    row = create_search(engine, spec={**EXAMPLE, "carbon": {"region": "DE", "start": "2022-03-01T00:00:00Z", "seconds_per_hour": 2}})
    with Session(engine) as session:
        stored = session.get(Search, row.id)
        stored.status, stored.started_at = SearchStatus.RUNNING, started
        session.add(stored)
        session.commit()
    ((region, instant, _),) = running_replay_instants(engine, at=started + timedelta(seconds=7))
    assert region == "DE" and instant == datetime(2022, 3, 1, 3, 30, tzinfo=timezone.utc)  # 7 s at 2 s per hour
    engine.dispose()
