"""One Celery worker process bound to one GPU (`python -m worker.gpu_process --index N`).

It starts consuming only its own parking queue; the pool controller then moves it to the
`sampling` or `evaluation` queue with Celery remote control. Concurrency 1, solo pool:
the process is the GPU's only user, and killing it kills exactly its task.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket

from celery import Celery

from cenas.bus import Publisher, connect_from
from cenas.carbon.accounting import accounting_preset
from cenas.carbon.traces import BUNDLED_REGIONS, load_region
from cenas.db import SERVICE_START_WAIT_S, make_engine
from cenas.settings import Settings
from cenas.tasks.nb201 import NB201Table
from cenas.work import make_celery
from worker.energy import detect_meter
from worker.handlers import WorkerRuntime
from worker.tasks import register_tasks


def worker_name(index: int, host: str | None = None) -> str:
    return f"gpu{index}@{host or socket.gethostname()}"


def park_queue(name: str) -> str:
    """A worker's private queue: consuming it means holding no role (idle). No '@': the
    embedded filesystem broker refuses it in exchange names."""
    return "park." + name.replace("@", ".")


def warm_up() -> None:
    """Load the bundled tables and torch before announcing readiness, not during the first
    task (importing torch takes seconds on a busy host, and a short budget has none)."""
    for region in BUNDLED_REGIONS:
        load_region(region)
    NB201Table.bundled()
    import cenas.tasks.torch.measure  # noqa: F401  (imports torch)


def start_worker(app: Celery, name: str, queues: list[str]) -> None:
    """Consume `queues` as one GPU's worker: one task at a time, on this process's own thread."""
    worker = app.Worker(
        hostname=name, queues=queues, concurrency=1, pool="solo",
        without_gossip=True, without_mingle=True, without_heartbeat=True, loglevel="INFO",
        optimization="fair",
    )
    worker.start()


def run(index: int, settings: Settings, host_workers: int = 1) -> None:
    os.environ["CUDA_VISIBLE_DEVICES"] = str(index)  # before anything touches CUDA
    name = worker_name(index)
    warm_up()
    engine = make_engine(settings, wait_s=SERVICE_START_WAIT_S)
    publisher = Publisher(connection=connect_from(settings))
    app = make_celery(settings, consumer=True)
    # the meter of live tasks: NVML for this GPU, else this worker's share of the host's RAPL
    # package (a `model` meter defers to each search's power model)
    meter = detect_meter(index, accounting_preset("full"), share=host_workers)
    register_tasks(app, WorkerRuntime(name, engine, publisher, settings=settings, meter=meter))
    start_worker(app, name, [park_queue(name)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=int, required=True, help="GPU index (CUDA_VISIBLE_DEVICES)")
    parser.add_argument("--host-workers", type=int, default=1, help="worker processes on this host (they share its RAPL package)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s gpu{args.index} %(levelname)s %(name)s: %(message)s")
    run(args.index, Settings(), host_workers=args.host_workers)


if __name__ == "__main__":
    main()
