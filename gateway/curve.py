"""A search's progress curve: hypervolume against search hours and against grams of CO2.

The dashboard plots how fast a search buys hypervolume with carbon, which no single
snapshot of `GET /v1/searches/{id}` shows, and a search opened after it finished has no
history of polls. The curve is rebuilt from what is stored: each evaluation counts from
the search hour its last work segment finished, the hypervolume is that of every
evaluation finished by then (against the problem's own reference point, as the optimizer
computes it), and the carbon is the ledger's charges up to that hour, each segment's
carbon spread evenly over its span.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
from sqlalchemy import Engine
from sqlmodel import Session, select

from cenas.db.searches import Evaluation, IdleEnergy, Search, WorkSegment
from cenas.pareto import hypervolume


@lru_cache(maxsize=64)
def _orientation(task_json: str) -> tuple[tuple[str, ...], tuple[float, ...], tuple[float, ...]]:
    """(objective names, signs, reference point in maximised orientation) of a task spec;
    cached because a torch problem measures its largest network to find its reference."""
    from cenas.search.context import build_context

    spec = json.loads(task_json)
    problem = build_context("curve", spec, None).problem
    return (tuple(o.name for o in problem.objectives), tuple(o.sign for o in problem.objectives),
            tuple(float(v) for v in problem.ref_point))


def reference(spec: dict) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """The search's objective names, their signs (+1 max, -1 min) and its reference point
    (maximised orientation)."""
    names, signs, ref = _orientation(json.dumps(spec, sort_keys=True))
    return names, np.array(signs), np.array(ref)


def hypervolume_2d(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact 2-objective hypervolume (maximised) above ``ref``: a sweep over the front."""
    pts = points[(points > ref).all(axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[np.lexsort((-pts[:, 1], -pts[:, 0]))]  # first objective descending, ties: best second first
    volume, best_second = 0.0, ref[1]
    for x, y in pts:
        if y > best_second:
            volume += (x - ref[0]) * (y - best_second)
            best_second = y
    return float(volume)


def _carbon_until(hours: float, spans: np.ndarray) -> float:
    """Grams charged by search hour ``hours``: rows of ``spans`` are (start, end, grams)."""
    if len(spans) == 0:
        return 0.0
    start, end, grams = spans[:, 0], spans[:, 1], spans[:, 2]
    length = np.maximum(end - start, 0.0)
    done = np.clip(hours - start, 0.0, None)
    share = np.where(length > 0, np.minimum(done, length) / np.where(length > 0, length, 1.0), (hours >= start).astype(float))
    return float((grams * share).sum())


def progress_curve(engine: Engine, *, search: Search) -> list[dict]:
    """One point per finished evaluation, in the order they finished (search hours):
    ``hours``, ``evaluations``, ``hypervolume``, ``carbon_g``; then the search's current
    totals as a last point when it has advanced since."""
    with Session(engine) as session:
        evaluations = session.exec(select(Evaluation).where(Evaluation.search_id == search.id).order_by(Evaluation.id)).all()
        segments = session.exec(select(WorkSegment).where(WorkSegment.search_id == search.id)).all()
        idle = session.exec(select(IdleEnergy).where(IdleEnergy.search_id == search.id)).all()
    spans = np.array([(s.start_hours, s.end_hours, s.carbon_g) for s in segments]
                     + [(i.start_hours, i.end_hours, i.carbon_g) for i in idle if i.start_hours is not None and i.end_hours is not None],
                     dtype=np.float64).reshape(-1, 3)
    finished_at = {s.key: s.end_hours for s in segments if s.kind == "evaluate" and s.outcome == "finished"}
    names, signs, ref = reference(search.spec)
    rows = sorted(((finished_at.get(e.code, search.elapsed_hours), e.id or 0, e) for e in evaluations), key=lambda r: (r[0], r[1]))
    values = np.array([[signs[k] * float(e.objectives[n]) for k, n in enumerate(names)] for _, _, e in rows], dtype=np.float64)
    points: list[dict] = []
    for i, (hours, _, _) in enumerate(rows):
        seen = values[: i + 1]
        hv = hypervolume_2d(seen, ref) if len(names) == 2 else hypervolume(seen, ref)
        points.append({"hours": float(hours), "evaluations": i + 1, "hypervolume": hv, "carbon_g": _carbon_until(hours, spans)})
    last_hours = points[-1]["hours"] if points else 0.0
    if search.elapsed_hours > last_hours or not points:
        points.append({"hours": float(search.elapsed_hours), "evaluations": len(rows),
                       "hypervolume": points[-1]["hypervolume"] if points else 0.0, "carbon_g": float(search.carbon_g)})
    return points
