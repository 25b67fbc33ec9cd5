"""Ready files: a service announces that it has finished starting (imports, migrations,
models, connections) by writing `<data_dir>/run/<service>.<pid>.ready`.

Launchers that start services as processes (`cenas demo`) wait for them before they
submit work, because a search's replay clock starts as soon as the optimizer takes it:
a scheduler still importing would miss its first hours. Nothing else depends on the
files; the pid in the name keeps a stale file from an earlier run from counting.

In a container every run has the same few pids and the data directory is a volume that
outlives the container, so the container healthcheck (`python -m cenas.readiness
SERVICE`) also asks that the process be alive and the file written after it started.
"""

from __future__ import annotations

import logging
import os
import sys
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


def _started_at(pid: int) -> float | None:
    """When process `pid` started (epoch seconds, from /proc), or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
    except (OSError, StopIteration, ValueError):
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat: start time in clock ticks


def is_ready_now(data_dir: Path, service: str) -> bool:
    """Some live process of `service` wrote its ready file after it started (not a file
    left by an earlier container whose process had the same pid)."""
    for path in (Path(data_dir) / "run").glob(f"{service}.*.ready"):
        pid = path.name.removeprefix(f"{service}.").removesuffix(".ready")
        started = _started_at(int(pid)) if pid.isdigit() else None
        try:
            if started is not None and path.stat().st_mtime >= started:  # btime is rounded down: never too late
                return True
        except OSError:
            continue
    return False


def main(argv: list[str] | None = None) -> int:
    """`python -m cenas.readiness SERVICE`: exit 0 when SERVICE is ready (container healthchecks)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m cenas.readiness SERVICE (e.g. optimizer_svc)", file=sys.stderr)
        return 2
    return 0 if is_ready_now(Settings().data_dir, args[0]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
