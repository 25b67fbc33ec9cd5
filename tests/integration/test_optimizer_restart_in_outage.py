"""An optimizer restarted into a database outage waits for the database and restores its
running searches, instead of exiting (the fault suite once found a restarted optimizer
dead, and its search never finished)."""

from __future__ import annotations

import threading
import time

import pytest

from cenas.db import make_engine
from cenas.settings import Settings
from optimizer_svc.service import OptimizerService
from tests.faults.stack import allow_connections, private_database, refuse_connections
from tests.integration.conftest import running_search

pytestmark = pytest.mark.integration

OUTAGE_S = 2.0


@pytest.fixture
def outage_database(tmp_path):
    with private_database("cenas_outage") as (name, url):
        engine = make_engine(Settings(_env_file=None, database_url=url, data_dir=tmp_path))
        yield name, engine
        engine.dispose()


def outage(name: str) -> threading.Timer:
    """Refuse connections now and allow them again after OUTAGE_S."""
    refuse_connections(name)
    reopen = threading.Timer(OUTAGE_S, allow_connections, [name])
    reopen.start()
    return reopen


def test_restore_waits_out_a_database_outage(outage_database):
    name, engine = outage_database
    search_id = running_search(engine, "heuristic").id

    reopened = outage(name)
    with pytest.raises(Exception) as refused:  # without a wait the outage surfaces at once
        OptimizerService(engine, None, None, pool_gpus=2).restore()  # type: ignore[arg-type]
    assert "not currently accepting connections" in str(refused.value)
    reopened.join()

    reopened = outage(name)
    began = time.monotonic()
    service = OptimizerService(engine, None, None, pool_gpus=2)  # type: ignore[arg-type]
    service.restore(wait_s=60)
    reopened.join()
    assert time.monotonic() - began >= OUTAGE_S * 0.9  # it really waited for the database
    assert list(service.live) == [search_id]
