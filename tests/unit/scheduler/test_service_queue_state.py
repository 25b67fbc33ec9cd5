"""The scheduler's observation of a live search carries the optimizer's queue as the
simulator's does (the trained RL policy never evaluates with an always-empty queue)."""

from __future__ import annotations

from sqlmodel import Session

from cenas.db import make_engine
from cenas.db.searches import Dispatch, SampleBatch, Search
from cenas.settings import Settings
from scheduler_svc.service import QUEUE_CAPACITY, SchedulerService


def test_queue_state_counts_screened_candidates_not_sent_and_evaluations_in_flight(tmp_path):
    engine = make_engine(Settings(data_dir=tmp_path, broker_url=None, database_url=None))
    service = SchedulerService(engine, publisher=None)
    with Session(engine) as session:
        session.add(Search(id="s", name="s", spec={}))
        session.commit()
    assert service._queue_state("s") == (0, 0)
    with Session(engine) as session:
        session.add(SampleBatch(search_id="s", batch_id=0, codes=[1, 2, 3, 4], predicted=[], gpu_seconds=1.0, energy_kwh=0.0,
                                energy_source="model", carbon_g=0.0, worker="w"))
        session.add(Dispatch(search_id="s", kind="evaluate", key=1, done=True))
        session.add(Dispatch(search_id="s", kind="evaluate", key=2))
        session.add(Dispatch(search_id="s", kind="sample", key=0, codes=[9], done=False))
        session.commit()
    assert service._queue_state("s") == (2, 1)  # 3 and 4 wait; 2 is in flight
    with Session(engine) as session:
        session.add(SampleBatch(search_id="s", batch_id=1, codes=list(range(100, 130)), predicted=[], gpu_seconds=1.0,
                                energy_kwh=0.0, energy_source="model", carbon_g=0.0, worker="w"))
        session.commit()
    assert service._queue_state("s") == (QUEUE_CAPACITY, 1)
    engine.dispose()
