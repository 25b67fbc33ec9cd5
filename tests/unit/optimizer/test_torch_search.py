"""The optimizer service runs a torch search: LaMOO on the shared codes, real worker results in."""

from datetime import datetime, timezone

import pytest
from sqlmodel import Session, select

from cenas.bus import Publisher, connect_from
from cenas.contracts import EvaluationCompleted, SampleCompleted, ScheduleDecision
from cenas.db import make_engine
from cenas.db.searches import Dispatch, Evaluation, SampleBatch, Search
from cenas.search.submit import submit_search
from cenas.settings import Settings
from cenas.work import make_celery
from optimizer_svc.service import OptimizerService
from tests.unit.kernel.test_spec import EXAMPLE
from worker.handlers import WorkerRuntime

SPEC = {**EXAMPLE, "gpus": 2, "policy": "heuristic",
        "task": {"kind": "torch", "dataset": "digits", "space": "nb201-cell-w4-d1", "epochs": 1}}


@pytest.mark.usefixtures("one_thread")
def test_a_torch_search_dispatches_and_takes_real_results(tmp_path):
    settings = Settings(data_dir=tmp_path, broker_url=None, database_url=None)
    engine = make_engine(settings)
    with Publisher(connection=connect_from(settings)) as publisher:
        search = submit_search(engine, publisher, SPEC)
        service = OptimizerService(engine, make_celery(settings), publisher, pool_gpus=2)
        service.start_queued()
        live = service.live[search.id]
        assert live.ctx.problem.name == "torch:digits:nb201-cell-w4-d1"
        service.on_message(ScheduleDecision(search_id=search.id, interval=0, valid_from=datetime.now(timezone.utc), gpus_evaluation=1,
                                            gpus_sampling=1, gpus_idle=0, policy="heuristic", intensity=100.0))
        with Session(engine) as session:
            sample = session.exec(select(Dispatch).where(Dispatch.search_id == search.id, Dispatch.kind == "sample")).one()
        worker = WorkerRuntime("gpu0@test", engine, publisher, settings=settings)
        worker.sample(search.id, sample.key, sample.codes)
        with Session(engine) as session:
            batch = session.exec(select(SampleBatch).where(SampleBatch.search_id == search.id)).one()
        service.on_message(SampleCompleted(search_id=search.id, batch_id=sample.key, codes=batch.codes, predicted=batch.predicted,
                                           gpu_seconds=batch.gpu_seconds, energy_kwh=batch.energy_kwh, worker=batch.worker))
        with Session(engine) as session:
            evaluate = session.exec(select(Dispatch).where(Dispatch.search_id == search.id, Dispatch.kind == "evaluate")).all()
        assert evaluate and {d.key for d in evaluate} <= set(sample.codes)  # screened candidates go to training
        worker.evaluate(search.id, evaluate[0].key)
        with Session(engine) as session:
            ev = session.exec(select(Evaluation).where(Evaluation.search_id == search.id)).one()
        service.on_message(EvaluationCompleted(search_id=search.id, code=ev.code, objectives=ev.objectives, gpu_seconds=ev.gpu_seconds,
                                               energy_kwh=ev.energy_kwh, carbon_g=ev.carbon_g, worker=ev.worker))
        service.tick()
    with Session(engine) as session:
        row = session.get(Search, search.id)
    assert row.evaluations == 1 and 0 < row.hypervolume <= live.ctx.problem.max_hypervolume
    assert [set(p["values"]) for p in row.pareto] == [{"accuracy", "params"}]
    engine.dispose()
