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


def test_the_container_healthcheck_wants_this_runs_file_of_a_live_process(tmp_path, monkeypatch):
    """In a container the pids repeat and /data outlives the container: a file left by an
    earlier process with the same pid (older than this process) or by a gone one is not ready."""
    from cenas.readiness import is_ready_now, main, ready_path

    monkeypatch.setenv("CENAS_DATA_DIR", str(tmp_path))
    assert not is_ready_now(tmp_path, "optimizer_svc") and main(["optimizer_svc"]) == 1
    stale = ready_path(tmp_path, "optimizer_svc", os.getpid())
    stale.parent.mkdir(parents=True)
    stale.touch()
    os.utime(stale, (0, 0))  # written long before this process started
    assert not is_ready_now(tmp_path, "optimizer_svc")
    ready_path(tmp_path, "optimizer_svc", 2**22 + 1).touch()  # beyond pid_max: no such process
    assert not is_ready_now(tmp_path, "optimizer_svc")
    mark_ready(Settings(data_dir=tmp_path, broker_url=None, database_url=None), "optimizer_svc")
    assert is_ready_now(tmp_path, "optimizer_svc") and main(["optimizer_svc"]) == 0
    assert not is_ready_now(tmp_path, "scheduler_svc")
    assert main([]) == 2
