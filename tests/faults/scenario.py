"""One search on a running stack with faults injected at seeded random moments, then the
invariants checked."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx
from kombu import Connection
from sqlalchemy import Engine
from sqlmodel import Session, select

from cenas.bus import DEAD_LETTER_QUEUE, Publisher, connect_from
from cenas.db.searches import Dispatch, Evaluation, IdleEnergy, SampleBatch, Search, SearchStatus, WorkSegment
from cenas.search.submit import submit_search
from cenas.settings import Settings
from cenas.work import make_celery
from tests.faults.faults import FAULTS
from tests.faults.stack import Stack, wait_until


def spec(name: str, gpus: int, hours: float, sph: float, policy: str = "heuristic") -> dict:
    return {"name": name, "task": {"kind": "nb201"}, "gpus": gpus, "budget": {"hours": hours},
            "carbon": {"region": "US-CAL-CISO", "start": "2021-07-02T06:00:00Z", "seconds_per_hour": sph},
            "policy": policy, "accounting": "full"}


class GatewayPoller(threading.Thread):
    """GETs `/readyz` and `/v1/searches` every 0.2 s, recording (time, path, status)."""

    def __init__(self, url: str, key: str) -> None:
        super().__init__(daemon=True)
        self.url, self.key = url, key
        self.seen: list[tuple[float, str, int]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while not self.stopping.is_set():
                for path, headers in (("/readyz", {}), ("/v1/searches", {"Authorization": f"Bearer {self.key}"})):
                    try:
                        code = client.get(self.url + path, headers=headers).status_code
                    except httpx.TransportError:
                        code = 0  # not listening (being restarted)
                    self.seen.append((time.monotonic(), path, code))
                self.stopping.wait(0.2)


@dataclass
class Scenario:
    stack: Stack
    engine: Engine
    settings: Settings
    broker_url: str
    database: str
    faults: list[str]
    seed: int
    gpus: int = 3
    hours: float = 12
    sph: float = 2.0
    gateway_url: str | None = None
    api_key: str | None = None
    rng: random.Random = field(init=False)
    search_id: str | None = None
    outages: list[tuple[float, float]] = field(default_factory=list)
    workers_down: list[tuple[float, float]] = field(default_factory=list)  # no GPU worker running
    probes: dict[str, tuple[str, int]] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @property
    def vhost(self) -> str:
        return self.broker_url.rsplit("/", 1)[1]

    @contextmanager
    def outage(self, active: bool):
        start = time.monotonic()
        try:
            yield
        finally:
            if active:
                self.outages.append((start, time.monotonic() + 3.0))  # readiness lags a little

    # --- readiness ------------------------------------------------------------------
    def wait_gateway(self) -> None:
        if self.gateway_url:
            wait_until(lambda: httpx.get(self.gateway_url + "/readyz", timeout=2).status_code == 200, 90, "the gateway")

    def wait_ready(self) -> None:
        celery = make_celery(self.settings)
        wait_until(lambda: len(celery.control.ping(timeout=1.0) or []) == self.stack.virtual_gpus, 180, "GPU workers")
        self.wait_gateway()

    # --- the run --------------------------------------------------------------------
    def run(self) -> dict:
        poller = GatewayPoller(self.gateway_url, self.api_key) if self.gateway_url and self.api_key else None
        if poller:
            poller.start()
        with Publisher(connection=connect_from(self.settings)) as publisher:
            search = submit_search(self.engine, publisher, spec(f"faults-{self.seed}", self.gpus, self.hours, self.sph))
        self.search_id = search.id
        duration = self.hours * self.sph
        # moments: sorted uniform draws in [15 %, 70 %] of the search's wall time, one per fault
        moments = sorted(self.rng.uniform(0.15, 0.70) * duration for _ in self.faults)
        started = wait_until(lambda: self._row().started_at, 120, "the search to start")
        t0 = time.monotonic()
        injected: list[str] = []
        skipped: list[str] = []
        for moment, name in zip(moments, self.faults):
            time.sleep(max(0.0, t0 + moment - time.monotonic()))
            at = time.monotonic() - t0
            if self._row().status.finished:  # earlier faults took so long that the search is over
                skipped.append(name)
                self.log.append(f"{at:6.1f}s {name}: skipped, the search had finished")
                continue
            what = FAULTS[name](self)
            injected.append(name)
            self.log.append(f"{at:6.1f}s {name}: {what}")
        final = wait_until(lambda: self.stack.assert_alive() or ((r := self._row()).status.finished and r), duration + 240,
                           "the search to finish")
        # tasks running at the budget's end stop and are charged up to it; then the ledger closes
        final = wait_until(lambda: (r := self._row()).settled_at and r, 180, "the search's ledger to close")
        if poller:
            poller.stopping.set()
            poller.join()
        report = self.check(final, poller)
        report.update(injected=injected, skipped=skipped, started=started, log=self.log)
        return report

    def _row(self) -> Search:
        with Session(self.engine) as session:
            row = session.get(Search, self.search_id)
            assert row is not None
            return row

    # --- invariants -----------------------------------------------------------------
    def check(self, final: Search, poller: GatewayPoller | None) -> dict:
        problems: list[str] = []
        if final.status != SearchStatus.SUCCEEDED:
            problems.append(f"search {final.status.value}: {final.error}")
        with Session(self.engine) as session:
            evals = session.exec(select(Evaluation).where(Evaluation.search_id == final.id)).all()
            batches = session.exec(select(SampleBatch).where(SampleBatch.search_id == final.id)).all()
            idle = session.exec(select(IdleEnergy).where(IdleEnergy.search_id == final.id)).all()
            segments = session.exec(select(WorkSegment).where(WorkSegment.search_id == final.id)).all()
            dispatches = session.exec(select(Dispatch).where(Dispatch.search_id == final.id)).all()
        codes = Counter(e.code for e in evals)
        duplicated = sum(n - 1 for n in codes.values())
        done_without_row = [d.key for d in dispatches if d.kind == "evaluate" and d.done and d.key not in codes]
        # a task dispatched within the last few trace hours, or whose search ended while
        # every worker was down, may never have started: workers drop tasks of finished
        # searches unstarted (nothing ran, nothing is lost). Lost: unrecorded although
        # workers were up for `grace` seconds between its dispatch and the search's end.
        grace = 4 * self.sph + 4
        lost = [d.key for d in dispatches if d.kind == "evaluate" and d.key not in codes
                and final.finished_at is not None and self._worker_up_s(d.dispatched_at, final.finished_at) > grace]
        tail_dropped = sum(1 for d in dispatches if d.kind == "evaluate" and d.key not in codes) - len(lost)
        batch_ids = {b.batch_id for b in batches}
        lost_batches = [d.key for d in dispatches if d.kind == "sample" and d.done and d.key not in batch_ids]
        if duplicated:
            problems.append(f"{duplicated} evaluations recorded twice")
        if done_without_row or lost_batches:
            problems.append(f"dispatches marked done without a result: {done_without_row} {lost_batches}")
        if lost:
            problems.append(f"evaluations dispatched and never recorded: {lost}")
        energy = sum(r.energy_kwh for r in (*segments, *idle))
        carbon = sum(r.carbon_g for r in (*segments, *idle))
        charged, granted = sum(r.gpu_seconds for r in (*segments, *idle)), self.gpus * self.hours * 3600.0
        # the ledger charges each second of the grant once; faults add real work on top (a task
        # redelivered after a broker drop runs again beside the first) and can leave a killed
        # attempt's seconds uncharged, so only a gross excess means double counting
        if charged > granted * 1.02:
            problems.append(f"{charged:.0f} GPU-seconds charged, over 2 % more than the {granted:.0f} granted")
        for ev in evals:
            own = sum(r.energy_kwh for r in segments if r.kind == "evaluate" and r.key == ev.code)
            if abs(own - ev.energy_kwh) > 1e-9 * max(1.0, own):
                problems.append(f"evaluation {ev.code}: {ev.energy_kwh} kWh != its segments' {own}")
        if abs(final.energy_kwh - energy) > 1e-9 * max(1.0, energy) or abs(final.carbon_g - carbon) > 1e-9 * max(1.0, carbon):
            problems.append(f"totals {final.energy_kwh:.6f} kWh / {final.carbon_g:.3f} g != rows {energy:.6f} / {carbon:.3f}")
        if final.evaluations != len(codes):
            problems.append(f"searches.evaluations {final.evaluations} != {len(codes)} rows")
        gateway = Counter()
        if poller:
            for at, path, code in poller.seen:
                gateway[code] += 1
                in_outage = any(a <= at <= b for a, b in self.outages)
                if code >= 500 and not (code == 503 and in_outage):
                    problems.append(f"gateway {path} answered {code} outside an outage")
        dead = self.dead_letters() if self.probes else {}
        for probe, (key, copies) in self.probes.items():
            found = dead.get(probe, 0)
            if (copies and found < 1) or (not copies and found):
                problems.append(f"hostile message on {key!r}: {found} copies in cenas.dead, expected {copies}")
        if dead_stack := self.stack.dead():
            problems.append(f"services exited: {dead_stack}")
        return {"search": final.id, "status": final.status.value, "evaluations": len(codes), "lost": len(lost),
                "duplicated": duplicated, "tail_dropped": tail_dropped, "gateway": dict(gateway),
                "dead_letters": sum(dead.values()), "problems": problems}

    def _worker_up_s(self, since: datetime, until: datetime) -> float:
        """Seconds between two stored instants during which GPU workers were running."""
        now_wall, now_mono = datetime.now(timezone.utc), time.monotonic()

        def mono(at: datetime) -> float:
            return now_mono - (now_wall - (at if at.tzinfo else at.replace(tzinfo=timezone.utc))).total_seconds()

        a, b = mono(since), mono(until)
        return max(0.0, b - a) - sum(max(0.0, min(b, hi) - max(a, lo)) for lo, hi in self.workers_down)

    def dead_letters(self) -> dict[str, int]:
        """Consume `cenas.dead`, counting copies per probe header."""
        found: Counter = Counter()
        with Connection(self.broker_url) as conn:
            channel = conn.channel()
            DEAD_LETTER_QUEUE(channel).declare()
            while (message := channel.basic_get(DEAD_LETTER_QUEUE.name, no_ack=True)) is not None:
                probe = (message.properties.get("application_headers") or {}).get("x-fault-probe")
                if probe:
                    found[probe] += 1
        return dict(found)
