"""Services announce that they finished starting with ready files named by their pid."""

from __future__ import annotations

import os

from cenas.readiness import is_ready, mark_ready
from cenas.settings import Settings


def test_ready_files_name_the_process(tmp_path):
    settings = Settings(data_dir=tmp_path, broker_url=None, database_url=None)
    assert not is_ready(tmp_path, "scheduler_svc", os.getpid())
    mark_ready(settings, "scheduler_svc")
    assert is_ready(tmp_path, "scheduler_svc", os.getpid())
    assert not is_ready(tmp_path, "scheduler_svc", os.getpid() + 1)  # a stale file of another process


def test_an_unwritable_data_dir_only_loses_the_announcement(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    mark_ready(Settings(data_dir=blocker, broker_url=None, database_url=None), "optimizer_svc")
    assert not is_ready(blocker, "optimizer_svc", os.getpid())
