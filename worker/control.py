"""Why a running task should stop: its search ended, or the optimizer asked to pause it.

The optimizer writes both to the database (the search's status; `Dispatch.preempt`), so
a task polls them from a small thread while it works and the work itself checks
`stop_reason` where it can stop cleanly: a replayed task's sleep wakes at once, a torch
run pauses after its next epoch checkpoint (preempted) or aborts at its next batch (cut).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from enum import Enum

from sqlalchemy import Engine
from sqlmodel import Session, select

from cenas.carbon.traces import as_utc
from cenas.clock import utcnow
from cenas.db.searches import Dispatch, Search

log = logging.getLogger(__name__)


class StopReason(str, Enum):
    PREEMPTED = "preempted"  # a decision took the GPU: pause, the run resumes later
    CUT = "cut"  # the search ended (budget, carbon cap, cancellation): stop for good


class TaskControl:
    """Polls the stop conditions of one task attempt every ``poll_s`` seconds in a thread.

    ``managed``: the task has a dispatch row (the optimizer may preempt it); unmanaged
    tasks (sent before this version, or by tests) can only be cut.
    """

    def __init__(self, engine: Engine, search_id: str, kind: str, key: int, attempt: int, *, managed: bool,
                 poll_s: float = 1.0, began_at: datetime | None = None) -> None:
        self.engine, self.search_id, self.kind, self.key, self.attempt = engine, search_id, kind, key, attempt
        self.managed = managed
        self.poll_s = poll_s
        #: the claim's instant (the dispatch's started_at): from here the GPU is this
        #: attempt's, loading a runner included
        self.began_at = began_at or utcnow()
        self.stopped = threading.Event()
        self.reason: StopReason | None = None
        self.search_ended_at: datetime | None = None  # when the search finished, if it did
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"control-{kind}-{key}", daemon=True)

    def __enter__(self) -> TaskControl:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when woken by a stop request."""
        return self.stopped.wait(max(0.0, seconds))

    def _watch(self) -> None:
        while not self._done.is_set() and not self.stopped.is_set():
            try:
                self.poll()
            except Exception as exc:  # a database hiccup: keep working, look again next time
                log.warning("task %s %s of %s: cannot read its stop conditions (%s)", self.kind, self.key, self.search_id,
                            str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            self._done.wait(self.poll_s)

    def poll(self) -> StopReason | None:
        """Read the conditions once; sets ``reason`` and ``stopped`` when one holds."""
        with Session(self.engine) as session:
            search = session.get(Search, self.search_id)
            dispatch = None
            if self.managed:
                dispatch = session.exec(select(Dispatch).where(Dispatch.search_id == self.search_id, Dispatch.kind == self.kind,
                                                               Dispatch.key == self.key)).first()
        if search is None or search.status.finished:
            self.search_ended_at = as_utc(search.finished_at) if search is not None and search.finished_at else None
            self._stop(StopReason.CUT)
        elif dispatch is not None and (dispatch.preempt or dispatch.attempt != self.attempt):
            self._stop(StopReason.PREEMPTED)
        return self.reason

    def _stop(self, reason: StopReason) -> None:
        if self.reason is None:
            self.reason = reason
            log.info("task %s %s of %s: stopping (%s)", self.kind, self.key, self.search_id, reason.value)
        self.stopped.set()
