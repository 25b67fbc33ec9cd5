"""A real WorkerRuntime runs torch tasks: SQLite, the embedded filesystem broker, real training."""

import pytest
from sqlmodel import Session, select

from cenas.bus import Consumer, Publisher, connect_from
from cenas.db import make_engine
from cenas.db.searches import Evaluation, SampleBatch, Search, SearchStatus, utcnow
from cenas.search.submit import submit_search
from cenas.settings import Settings
from tests.unit.kernel.test_spec import EXAMPLE
from worker.handlers import WorkerRuntime

SPEC = {**EXAMPLE, "policy": "heuristic", "task": {"kind": "torch", "dataset": "digits", "space": "nb201-cell-w4-d1", "epochs": 1}}


@pytest.mark.usefixtures("one_thread")
def test_torch_evaluation_and_sampling_are_trained_metered_and_stored(tmp_path):
    settings = Settings(data_dir=tmp_path, broker_url=None, database_url=None)
    engine = make_engine(settings)
    heard = []
    consumer = Consumer(None, "test-torch", ["evaluation.completed", "sample.completed"], heard.append, connection=connect_from(settings))
    consumer.declare()
    with Publisher(connection=connect_from(settings)) as publisher:
        search = submit_search(engine, publisher, SPEC)
        with Session(engine) as session:
            row = session.get(Search, search.id)
            row.status, row.started_at = SearchStatus.RUNNING, utcnow()
            session.add(row)
            session.commit()
        slept = []
        runtime = WorkerRuntime("gpu0@test", engine, publisher, sleep=slept.append, settings=settings)
        runtime.evaluate(search.id, 9876)
        runtime.sample(search.id, 0, [9876, 0, 11718])
        runtime.evaluate(search.id, 9876)  # a redelivery: nothing new is recorded
    consumer.drain(timeout=1.0)
    consumer.close()
    assert slept == []  # torch tasks run for real, they do not replay
    with Session(engine) as session:
        evaluations = session.exec(select(Evaluation)).all()
        batches = session.exec(select(SampleBatch)).all()
    assert len(evaluations) == 1 and len(batches) == 1
    ev = evaluations[0]
    assert set(ev.objectives) == {"accuracy", "val_accuracy", "params", "flops", "latency_ms"}
    assert 0 <= ev.objectives["accuracy"] <= 100 and ev.objectives["params"] > 0
    assert ev.energy_source in ("nvml", "rapl", "model") and ev.energy_kwh > 0 and ev.carbon_g > 0 and ev.gpu_seconds > 0
    assert ev.architecture == "|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|none~0|none~1|skip_connect~2|"  # CellSpace.arch_str
    assert not list((tmp_path / "torch" / "eval").glob("*.pt"))  # the stored run's checkpoint is gone
    batch = batches[0]
    assert len(batch.predicted) == 3 and all(len(row) == 2 for row in batch.predicted)
    assert all(row[1] < 0 for row in batch.predicted)  # params, minimised: negated
    assert batch.carbon_g > 0 and batch.energy_source == ev.energy_source
    assert (tmp_path / "torch" / "supernet" / f"{search.id}-digits-nb201-cell-w4-d1.pt").exists()
    kinds = sorted(m.kind for m in heard)
    assert kinds == ["evaluation.completed", "evaluation.completed", "sample.completed"]
    engine.dispose()
