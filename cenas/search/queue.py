"""The evaluation queue: supernet-screened candidates waiting for a training GPU.

Two admission rules (`rule`), both holding at most `capacity` candidates:
* `streaming` (the default, this project's): screened candidates are admitted in arrival
  order, a few at a time (at most `4 x capacity`), and after each admission the
  candidates with the highest dominance numbers (by predicted objectives, counted within
  the queue) are dropped, ties dropping the newest first: a streaming top-`capacity` of
  everything screened, so a better candidate screened later displaces a worse one;
* `refill` (the CE-NAS paper's released simulator): candidates are admitted in arrival
  order only while the queue has room; once full, new ones are discarded until GPUs
  take some out, however good they are.
Then, under either rule:
* a free evaluation GPU takes the candidate with the lowest dominance number (the
  earliest arrival among ties);
* runs that did not finish in their interval wait in a separate FIFO of half-finished
  runs that is always served before the queue (see `CarryOver`).
Why streaming is the default: under paper accounting screening is free, so sampling GPUs
keep screening while evaluation waits for clean hours; the refill rule throws that work
away and trains whatever arrived first (the ablation in the README measures both).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from cenas.pareto import dominance_numbers


QUEUE_RULES = ("streaming", "refill")


class EvaluationQueue:
    def __init__(self, capacity: int, rule: str = "streaming") -> None:
        if capacity < 1:
            raise ValueError(f"queue capacity must be >= 1, got {capacity}")
        if rule not in QUEUE_RULES:
            raise ValueError(f"queue rule must be one of {', '.join(QUEUE_RULES)}, got {rule!r}")
        self.capacity = capacity
        self.rule = rule
        self._codes = np.zeros(0, dtype=np.int64)
        self._values = np.zeros((0, 0))
        self._order = np.zeros(0, dtype=np.int64)  # arrival sequence numbers
        self._next_seq = 0

    def __len__(self) -> int:
        return len(self._codes)

    @property
    def codes(self) -> np.ndarray:
        return self._codes.copy()

    def offer(self, codes: np.ndarray, predicted: np.ndarray) -> None:
        """Add screened candidates (`n` codes, `n x m` maximised predictions), by the rule."""
        if self.rule == "refill":
            room = max(0, self.capacity - len(self._codes))
            codes, predicted = codes[:room], predicted[:room]
            if len(codes) == 0:
                return
        chunk = 4 * self.capacity
        for start in range(0, len(codes), chunk):
            self._admit(codes[start : start + chunk], predicted[start : start + chunk])

    def _admit(self, codes: np.ndarray, predicted: np.ndarray) -> None:
        seq = self._next_seq + np.arange(len(codes))
        self._next_seq += len(codes)
        codes_all = np.concatenate([self._codes, codes])
        values_all = predicted if len(self._codes) == 0 else np.concatenate([self._values, predicted])
        order_all = np.concatenate([self._order, seq])
        if len(codes_all) > self.capacity:
            keep = np.lexsort((order_all, dominance_numbers(values_all)))[: self.capacity]
            keep.sort()
            codes_all, values_all, order_all = codes_all[keep], values_all[keep], order_all[keep]
        self._codes, self._values, self._order = codes_all, values_all, order_all

    def pop(self) -> int | None:
        """The candidate with the lowest dominance number, or None when empty."""
        if len(self._codes) == 0:
            return None
        best = int(np.lexsort((self._order, dominance_numbers(self._values)))[0])
        code = int(self._codes[best])
        mask = np.arange(len(self._codes)) != best
        self._codes, self._values, self._order = self._codes[mask], self._values[mask], self._order[mask]
        return code


@dataclass
class Run:
    """A training run: which architecture and how many GPU-seconds it still needs."""

    code: int
    remaining_s: float
    started_hour: float


class CarryOver:
    """Half-finished runs, served first and in the order they were interrupted."""

    def __init__(self) -> None:
        self._runs: deque[Run] = deque()

    def __len__(self) -> int:
        return len(self._runs)

    def push(self, run: Run) -> None:
        self._runs.append(run)

    def pop(self) -> Run | None:
        return self._runs.popleft() if self._runs else None

    def codes(self) -> list[int]:
        return [r.code for r in self._runs]
