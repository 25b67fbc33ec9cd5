"""Just-in-time dispatch for one live search (pure: commands out, results in, no I/O).

Celery queues are FIFO and cannot reorder, so the optimizer keeps the candidate pool itself
and hands the workers only as much work as the current allocation can start now:
about one `evaluate` task per evaluation GPU (plus a few spares, see `evaluation_slots`;
lowest dominance number first, the same `EvaluationQueue` the simulator uses) and one
`sample` batch per sampling GPU. The service
adapter turns commands into Celery tasks and feeds results back; after a restart it
rebuilds a Dispatcher from the database with `restore`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cenas.search.proposers import Proposer
from cenas.search.queue import EvaluationQueue

#: Candidates scored per `sample` task: 30 x 20 GPU-seconds = 10 minutes of GPU time, so
#: screened candidates reach the queue nearly as a stream (a single sampling GPU must keep
#: several evaluating GPUs fed) while messages stay few enough for fast replay.
SAMPLE_BATCH = 30


@dataclass(frozen=True)
class EvaluateCommand:
    code: int
    resume: bool = False  # a preempted (or withdrawn) run carried over, not a new candidate


@dataclass(frozen=True)
class SampleCommand:
    batch_id: int
    codes: tuple[int, ...]


@dataclass
class Dispatcher:
    proposer: Proposer
    size: int  # architectures in the space
    screening: bool = True
    queue_capacity: int = 10
    sample_batch: int = SAMPLE_BATCH
    #: relearn the proposer before planning whenever results arrived; False: only on
    #: `refit()`, which the service calls once per interval, as the simulator relearns
    #: LaMOO's partition at the end of each hour (a fit per result kept a fast replay's
    #: optimizer too busy to feed its GPUs)
    fit_on_plan: bool = True
    evaluation_gpus: int = 0
    sampling_gpus: int = 0
    queue: EvaluationQueue = field(init=False)
    evaluating: set[int] = field(default_factory=set)
    sampling: dict[int, tuple[int, ...]] = field(default_factory=dict)  # sample batch id -> codes
    evaluated: set[int] = field(default_factory=set)
    #: runs a decision paused (or withdrew before they started), resumed first, oldest first
    carry: deque[int] = field(default_factory=deque)
    _next_batch: int = 0
    _stale: bool = False

    def __post_init__(self) -> None:
        self.queue = EvaluationQueue(self.queue_capacity)

    # --- inputs -----------------------------------------------------------------------
    def set_allocation(self, evaluation_gpus: int, sampling_gpus: int) -> None:
        if evaluation_gpus < 0 or sampling_gpus < 0:
            raise ValueError(f"GPU counts must be >= 0, got evaluation={evaluation_gpus} sampling={sampling_gpus}")
        self.evaluation_gpus, self.sampling_gpus = evaluation_gpus, sampling_gpus

    def on_samples(self, batch_id: int, codes: np.ndarray, predicted: np.ndarray) -> bool:
        """Screened candidates came back; False if this batch was already handled (redelivery)."""
        if self.sampling.pop(batch_id, None) is None:
            return False
        fresh = np.array([c not in self.evaluated and c not in self.evaluating for c in codes.tolist()], dtype=bool)
        self.queue.offer(np.asarray(codes)[fresh], np.asarray(predicted)[fresh])
        return True

    def on_evaluation(self, code: int, values: np.ndarray) -> bool:
        """A training run finished; False if it was already recorded (redelivery)."""
        if code in self.evaluated:
            return False
        self.evaluating.discard(code)
        self.evaluated.add(code)
        self.proposer.tell(np.array([code]), np.asarray(values, dtype=np.float64)[None, :])
        self._stale = True
        return True

    def refit(self) -> None:
        """Relearn the proposer from the results told since its last fit (if any)."""
        if self._stale:
            self.proposer.fit()
            self._stale = False

    def on_preempted(self, code: int) -> bool:
        """A run stopped (or was withdrawn) on a decision's request: it resumes before any new
        candidate starts. False if it is not in flight (a duplicate report)."""
        if code not in self.evaluating or code in self.evaluated:
            return False
        self.evaluating.discard(code)
        self.carry.append(code)
        return True

    def restore(self, evaluated: list[tuple[int, np.ndarray]], evaluating: list[int], carried: Sequence[int] = ()) -> None:
        """Rebuild after a restart from what the database recorded."""
        for code, values in evaluated:
            self.on_evaluation(code, values)
        self.carry.extend(c for c in carried if c not in self.evaluated)
        self.evaluating.update(c for c in evaluating if c not in self.evaluated and c not in self.carry)

    def withdraw(self, command: EvaluateCommand | SampleCommand) -> None:
        """Forget a planned command that could not be sent (broker away), so its slot frees
        up; a new candidate goes back to the proposer's pool and can be planned again, a
        carried-over run back to the front of the carry-over."""
        if isinstance(command, EvaluateCommand):
            self.evaluating.discard(command.code)
            if command.resume:
                self.carry.appendleft(command.code)
        else:
            self.sampling.pop(command.batch_id, None)

    @property
    def evaluation_slots(self) -> int:
        """Evaluations kept in flight: two per GPU (one running, one reserved), so a GPU
        that finishes finds its next task already delivered instead of waiting a round trip."""
        return 2 * self.evaluation_gpus

    # --- output -----------------------------------------------------------------------
    def plan(self) -> list[EvaluateCommand | SampleCommand]:
        """The tasks to dispatch now so that each allocated GPU has one to start."""
        if self._stale and self.fit_on_plan:
            self.refit()
        commands: list[EvaluateCommand | SampleCommand] = []
        while len(self.evaluating) < self.evaluation_slots:
            resume = bool(self.carry)
            code = self.carry.popleft() if resume else self._next_candidate()
            if code is None:
                break
            self.evaluating.add(code)
            commands.append(EvaluateCommand(code, resume))
        if self.screening:
            while len(self.sampling) < self.sampling_gpus:
                codes = self.proposer.ask(self.sample_batch, exclude=self._taken(include_sampling=True))
                if len(codes) == 0:
                    break
                batch = tuple(int(c) for c in codes)
                self.sampling[self._next_batch] = batch
                commands.append(SampleCommand(self._next_batch, batch))
                self._next_batch += 1
        return commands

    def _taken(self, *, include_sampling: bool = False) -> np.ndarray:
        taken = self.evaluated | self.evaluating | set(self.carry) | set(self.queue.codes.tolist())
        if include_sampling:
            taken |= {c for batch in self.sampling.values() for c in batch}
        return np.fromiter(taken, dtype=np.int64, count=len(taken))

    def _next_candidate(self) -> int | None:
        if self.screening:
            return self.queue.pop()
        codes = self.proposer.ask(1, exclude=self._taken())
        return int(codes[0]) if len(codes) else None


def surplus_queued(running: int, queued: Sequence[int], evaluation_gpus: int) -> list[int]:
    """The dispatched evaluations no GPU has started that a smaller allocation has no room
    for, newest first: the queue keeps one reserve per evaluation GPU (`evaluation_slots`)
    besides the runs under way. (Runs under way beyond the allocation are paused by the
    pool controller, on the workers it takes out of evaluation.)"""
    room = max(0, 2 * max(0, evaluation_gpus) - min(running, max(0, evaluation_gpus)))
    return list(queued[room:])[::-1]
