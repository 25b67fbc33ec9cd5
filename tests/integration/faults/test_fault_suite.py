"""The short form of the fault-injection suite (`python -m tests.faults`): one search
under a worker kill -9, an optimizer SIGKILL, a broker drop, a database outage and hostile
bus messages, against real RabbitMQ and PostgreSQL. The long form runs on demand:
`python -m tests.faults --long`."""

from __future__ import annotations

import pytest

from tests.faults.__main__ import SHORT, run_suite

pytestmark = pytest.mark.integration


def test_search_survives_combined_faults(tmp_path):
    reports = run_suite(SHORT, [0], gpus=3, hours=16, sph=2.0, log_dir=tmp_path)
    [report] = reports
    assert report["problems"] == [], (report["problems"], report["log"])
    assert report["status"] == "succeeded" and report["lost"] == 0 and report["duplicated"] == 0
    assert report["evaluations"] > 0 and not report["skipped"]
    assert report["dead_letters"] >= 8  # every routable hostile message was dead-lettered
