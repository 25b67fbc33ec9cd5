"""The faults, each a function of the running scenario. Each returns a short description;
faults that take a dependency away mark the time window in which the gateway may
answer 503 (`Scenario.outage`)."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from typing import TYPE_CHECKING, Callable

from kombu import Connection, Producer

from cenas.bus import EXCHANGE
from tests.faults.stack import SERVICES, allow_connections, rabbitmqctl, refuse_connections

if TYPE_CHECKING:
    from tests.faults.scenario import Scenario

#: seconds the database refuses connections in a `db_outage`
DB_OUTAGE_S = 4.0


def worker_kill(sc: Scenario) -> str:
    """SIGKILL one GPU worker process (the supervisor restarts it; its task is redelivered)."""
    pids = sc.stack.gpu_pids()
    if not pids:
        return "no GPU process alive"
    pid = sc.rng.choice(pids)
    os.kill(pid, signal.SIGKILL)
    return f"kill -9 gpu pid {pid}"


def service_restart(name: str, sig: signal.Signals) -> Callable[[Scenario], str]:
    def fault(sc: Scenario) -> str:
        with sc.outage(name == "gateway"):
            sc.stack.restart(name, sig)
            if name == "gateway":
                sc.wait_gateway()
        return f"{name} {sig.name} + restart"

    fault.__name__ = f"restart_{name}_{sig.name}"
    return fault


def stack_restart(sc: Scenario) -> str:
    """Every process SIGKILLed at once, then the whole stack started again."""
    down = time.monotonic()
    with sc.outage(True):
        sc.stack.kill_all()
        sc.stack.start_all()
        sc.wait_ready()
    sc.workers_down.append((down, time.monotonic()))
    return f"all SIGKILL + restart, workers back after {time.monotonic() - down:.0f}s"


def broker_drop(sc: Scenario) -> str:
    with sc.outage(True):
        rabbitmqctl("close_all_connections", "-p", sc.vhost, "fault injection")
        time.sleep(2.0)
    return f"close_all_connections -p {sc.vhost}"


def db_outage(sc: Scenario) -> str:
    """The database refuses connections for DB_OUTAGE_S and every session is terminated."""
    with sc.outage(True):
        try:
            refuse_connections(sc.database)
            time.sleep(DB_OUTAGE_S)
        finally:
            allow_connections(sc.database)
        time.sleep(1.0)  # the window in which 503 is still acceptable ends after reconnection
    return f"database refused {DB_OUTAGE_S:.0f}s"


#: hostile bodies: (routing key, body, copies expected in cenas.dead: one per bound queue)
def hostile_messages(search_id: str) -> list[tuple[str, bytes, int]]:
    big = json.dumps({"search_id": search_id, "code": 1, "objectives": {"x": 1.0}, "padding": "x" * (4 << 20)})
    return [
        ("evaluation.completed", b"{not json", 1),
        ("sample.completed", b"\xff\xfe binary \x00", 1),
        ("evaluation.completed", json.dumps({"search_id": search_id, "code": "seven"}).encode(), 1),
        ("search.cancelled", json.dumps({"search": search_id}).encode(), 1),
        (f"schedule.decision.{search_id}", json.dumps({"search_id": search_id, "gpus_evaluation": -3}).encode(), 2),
        ("search.created", json.dumps([1, 2, 3]).encode(), 1),
        ("evaluation.completed", big.encode(), 1),  # 4 MiB, and the wrong schema
        ("sample.completed", b"[" * 100_000, 1),  # nesting deep enough to trouble a recursive parser
        ("no.such.key", b"{}", 1),  # no queue binds it: the exchange's alternate exchange dead-letters it
        (f"search.unknown.{search_id}", b"{}", 1),
    ]


def bus_garbage(sc: Scenario) -> str:
    """Publish hostile bodies on the `cenas` exchange, each tagged with a probe header."""
    with Connection(sc.broker_url) as conn:
        producer = Producer(conn.default_channel, exchange=EXCHANGE)
        for key, body, copies in hostile_messages(sc.search_id or "none"):
            probe = uuid.uuid4().hex
            producer.publish(body, routing_key=key, content_type="application/json", content_encoding="binary",
                             headers={"x-fault-probe": probe}, declare=[EXCHANGE])
            sc.probes[probe] = (key, copies)
    return f"{len(sc.probes)} hostile messages"


def _restarts() -> dict[str, Callable[[Scenario], str]]:
    out = {}
    for name in SERVICES:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            fault = service_restart(name, sig)
            out[fault.__name__] = fault
    return out


FAULTS: dict[str, Callable[[Scenario], str]] = {
    "worker_kill": worker_kill, **_restarts(), "stack_restart": stack_restart,
    "broker_drop": broker_drop, "db_outage": db_outage, "bus_garbage": bus_garbage,
}
