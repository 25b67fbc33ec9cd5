"""Work past a search's time budget never counts, even before the search is marked
finished (an optimizer restarting across the budget's end marks it late)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from cenas.search.context import build_context
from worker.control import StopReason
from worker.handlers import Segment, WorkerRuntime

STARTED = datetime(2026, 12, 3, 12, tzinfo=timezone.utc)
SPEC = {"name": "s", "task": {"kind": "nb201"}, "gpus": 2, "budget": {"hours": 10},
        "carbon": {"region": "US-CAL-CISO", "start": "2021-07-02T06:00:00Z", "seconds_per_hour": 2}}


def segment(outcome: str, start: float, end: float) -> Segment:
    return Segment(outcome, STARTED, STARTED + timedelta(seconds=2 * end), start, end, energy_kwh=1.0, energy_source="model")


@pytest.mark.parametrize("reason", [None, StopReason.PREEMPTED])
def test_a_segment_past_the_budget_is_cut_there_though_nobody_marked_the_end(reason):
    ctx = build_context("s", SPEC, STARTED)
    control = SimpleNamespace(reason=reason, search_ended_at=None)
    for outcome in ("finished", "preempted"):
        cut = WorkerRuntime._cut_at_end(ctx, control, segment(outcome, 8.0, 12.0))
        assert (cut.outcome, cut.end_hours, cut.energy_kwh) == ("cut", 10.0, pytest.approx(0.5))
    inside = segment("finished", 2.0, 9.0)
    assert WorkerRuntime._cut_at_end(ctx, control, inside) is inside


def test_a_search_stopped_early_cuts_at_its_stop():
    ctx = build_context("s", SPEC, STARTED)
    control = SimpleNamespace(reason=StopReason.CUT, search_ended_at=STARTED + timedelta(seconds=8))  # 4 trace hours
    cut = WorkerRuntime._cut_at_end(ctx, control, segment("cut", 3.0, 5.0))
    assert cut.end_hours == pytest.approx(4.0) and cut.energy_kwh == pytest.approx(0.5)
