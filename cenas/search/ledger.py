"""The GPU-time ledger: every second of a search's grant is charged in exactly one state.

One set of rules for the runtime and the simulator (`scheduler_svc.simulator.engine`):

* a GPU working on an evaluation draws evaluation power; one scoring candidates (or
  training the search's supernet) draws sampling power;
* every other second of the grant draws idle power: GPUs the decision parked, evaluation
  GPUs waiting for a screened candidate, sampling GPUs between batches;
* a run paused by a decision is charged what it used and resumes later at no extra cost
  but the work it redoes (a torch run resumes after its last finished epoch);
* work stops at the search's end (time budget, carbon cap, cancellation) and is charged
  up to that end; nothing after it counts.

Times are search time in hours since the search started (trace hours in replay, wall
hours live); GPU time in GPU-seconds of search time. Pure: spans in, seconds out.
"""

from __future__ import annotations

from collections.abc import Iterable

SECONDS_PER_HOUR = 3600.0


def overlap_hours(start: float, end: float, window_start: float, window_end: float) -> float:
    """Hours of ``[start, end)`` inside ``[window_start, window_end)``."""
    return max(0.0, min(end, window_end) - max(start, window_start))


def interval_window(index: int, interval_hours: float, end_hours: float | None) -> tuple[float, float]:
    """Interval ``index``'s span, cut at the search's end (empty past it)."""
    start = index * interval_hours
    stop = start + interval_hours
    if end_hours is not None:
        start, stop = min(start, end_hours), min(stop, end_hours)
    return start, stop


def unused_gpu_seconds(gpus: int, window: tuple[float, float], busy: Iterable[tuple[float, float]]) -> float:
    """GPU-seconds of a ``gpus``-GPU grant over ``window`` that no busy span covers.

    Each busy span is one GPU working; the result is never negative (GPUs shared between
    searches can briefly run more of one search's tasks than its grant).
    """
    start, stop = window
    granted = gpus * max(0.0, stop - start) * SECONDS_PER_HOUR
    used = sum(overlap_hours(a, b, start, stop) for a, b in busy) * SECONDS_PER_HOUR
    return max(0.0, granted - used)


def intervals_ended(now_hours: float, interval_hours: float, end_hours: float | None) -> int:
    """How many whole intervals lie before ``now_hours`` (or the search's end)."""
    upto = now_hours if end_hours is None else min(now_hours, end_hours)
    count = int(upto // interval_hours + 1e-9)
    if end_hours is not None and upto >= end_hours:  # the last, partial interval is over too
        count = int(-(-end_hours // interval_hours))
    return max(0, count)
