"""Ready files: a service announces that it has finished starting (imports, migrations,
models, connections) by writing `<data_dir>/run/<service>.<pid>.ready`.

Launchers that start services as processes (`cenas demo`) wait for them before they
submit work, because a search's replay clock starts as soon as the optimizer takes it:
a scheduler still importing would miss its first hours. Nothing else depends on the
files; the pid in the name keeps a stale file from an earlier run from counting.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cenas.settings import Settings

log = logging.getLogger(__name__)


def ready_path(data_dir: Path, service: str, pid: int) -> Path:
    return Path(data_dir) / "run" / f"{service}.{pid}.ready"


def mark_ready(settings: Settings, service: str) -> None:
    """Say that `service` (its module name, e.g. `scheduler_svc`) in this process is ready.
    Best effort: a data directory that cannot be written only loses the announcement."""
    path = ready_path(settings.data_dir, service, os.getpid())
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as exc:
        log.warning("could not write the ready file %s: %s", path, exc)
        return
    log.info("%s ready", service)


def is_ready(data_dir: Path, service: str, pid: int) -> bool:
    return ready_path(data_dir, service, pid).exists()
