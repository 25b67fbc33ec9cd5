"""Live accounting vs the simulator, on the signal a live run recorded.

Runs one live torch digits search on a private RabbitMQ virtual host and PostgreSQL
database, every service a real process, against a local fake of Electricity Maps whose
zone replays a real day of the bundled trace (one trace hour per decision interval).
Then it replays the signal the live run *recorded* (each interval's time-weighted mean)
through the simulator with the same policy, GPUs, accounting and number of intervals,
and compares the carbon the two account (the simulator's hours scaled to the interval).

    .venv/bin/python benchmarks/live_consistency.py [--intervals 24] [--interval-s 10] [--gpus 4]

Prints the figures and writes `live_consistency.json` under --out. Heuristic decisions
depend only on the signal, so the two runs should decide alike; the carbon differs by
what the simulator cannot know of a real torch run (supernet training before the first
candidate, real task lengths, idle gaps between tasks).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlmodel import Session, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.private_stack import private_stack, stop, wait_for_workers  # noqa: E402
from cenas.carbon.accounting import accounting_preset  # noqa: E402
from cenas.carbon.traces import as_utc, load_region  # noqa: E402
from cenas.db.readings import observed_signal  # noqa: E402
from cenas.db.searches import Decision, IdleEnergy, Search, WorkSegment, create_search  # noqa: E402
from cenas.spec import SearchSpec  # noqa: E402
from cenas.tasks.nb201 import NB201Problem  # noqa: E402
from cenas.work import make_celery  # noqa: E402
from scheduler_svc.simulator.engine import SimulationConfig, run_episode  # noqa: E402
from scheduler_svc.simulator.policies import make_policy  # noqa: E402
from tests.fakes.carbon_apis import EM_TOKEN, serving  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--intervals", type=int, default=24)
    parser.add_argument("--interval-s", type=float, default=10.0)
    parser.add_argument("--gpus", type=int, default=4)
    parser.add_argument("--region", default="DE")
    parser.add_argument("--day", default="2023-06-01", help="the trace day the fake zone replays")
    parser.add_argument("--policy", default="heuristic")
    parser.add_argument("--out", type=Path, default=Path("bench-out/live_consistency"))
    args = parser.parse_args()

    trace = load_region(args.region)
    first = trace.index_of(as_utc(datetime.fromisoformat(args.day)))
    day = trace.values[first : first + args.intervals]
    spec = SearchSpec.model_validate({
        "name": "live-consistency", "task": {"kind": "torch", "dataset": "digits", "space": "nb201-cell-w8-d1", "epochs": 2},
        "gpus": args.gpus, "budget": {"hours": args.intervals * args.interval_s / 3600.0}, "policy": args.policy, "accounting": "full",
        "carbon": {"region": args.region, "signal": "electricitymaps", "interval_s": args.interval_s}}).model_dump(mode="json")

    with serving() as fake, private_stack() as stack:
        fake.live[args.region] = float(day[0])
        env = {**stack.env, "CENAS_ELECTRICITYMAPS_URL": fake.url, "CENAS_ELECTRICITYMAPS_TOKEN": EM_TOKEN,
               "CENAS_POOL_GPUS": str(args.gpus), "CENAS_TORCH_THREADS": "1"}
        procs = [subprocess.Popen([sys.executable, "-m", *command], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for command in (["forecaster_svc"], ["scheduler_svc"], ["optimizer_svc"], ["worker.pool_service"],
                                 ["worker", "--virtual-gpus", str(args.gpus)])]
        try:
            wait_for_workers(make_celery(stack.settings), args.gpus)
            search_id = create_search(stack.engine, spec=spec).id
            print(f"live search {search_id}: {args.intervals} intervals of {args.interval_s:g} s on {args.region} {args.day}", flush=True)
            started = None
            while started is None:
                with Session(stack.engine) as session:
                    started = session.get(Search, search_id).started_at
                time.sleep(0.2)
            t0 = as_utc(started).timestamp()
            stop_driver = threading.Event()

            def drive() -> None:
                while not stop_driver.wait(0.2):
                    k = min(int((time.time() - t0) / args.interval_s), args.intervals - 1)
                    fake.live[args.region] = float(day[k])

            threading.Thread(target=drive, daemon=True).start()
            search = None
            while search is None or search.settled_at is None:
                time.sleep(1.0)
                with Session(stack.engine) as session:
                    search = session.get(Search, search_id)
                print(f"  {search.status.value} {search.elapsed_hours * 3600 / args.interval_s:.1f}/{args.intervals} intervals, "
                      f"{search.evaluations} evaluations, {search.carbon_g:.3f} g", end="\r", flush=True)
            stop_driver.set()
            print()
            with Session(stack.engine) as session:
                decisions = session.exec(select(Decision).where(Decision.search_id == search_id).order_by(Decision.interval)).all()
                segments = session.exec(select(WorkSegment).where(WorkSegment.search_id == search_id)).all()
                idle = session.exec(select(IdleEnergy).where(IdleEnergy.search_id == search_id)).all()
            signal = observed_signal(stack.engine, "electricitymaps", args.region, started)
        finally:
            stop(procs)

    hours = args.interval_s / 3600.0
    recorded = np.array([signal.mean(k * hours, (k + 1) * hours) for k in range(args.intervals)])
    config = SimulationConfig(gpus=args.gpus, hours=args.intervals, power=accounting_preset("full"))
    sim = run_episode(NB201Problem(), recorded, make_policy(args.policy), config, seed=0,
                      history=np.full(24, recorded[0]))
    sim_g = sim.carbon_g * args.interval_s / 3600.0  # one simulator hour is one interval
    live_g = search.carbon_g
    live_split = [d.gpus_evaluation for d in decisions]
    sim_split = [row.gpus_evaluation for row in sim.rows[1:]]
    agree = sum(a == b for a, b in zip(live_split, sim_split)) / max(1, min(len(live_split), len(sim_split)))
    report = {"args": {k: str(v) for k, v in vars(args).items()}, "live_carbon_g": live_g, "simulator_carbon_g": sim_g,
              "ratio_live_to_simulator": live_g / sim_g if sim_g else None, "decisions_agree": agree,
              "live_segments_g": sum(s.carbon_g for s in segments), "live_idle_g": sum(r.carbon_g for r in idle),
              "live_evaluation_gpus": live_split, "simulator_evaluation_gpus": sim_split, "recorded_signal": recorded.tolist()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "live_consistency.json").write_text(json.dumps(report, indent=2))
    print(f"live accounted {live_g:.3f} g; simulator on the recorded signal {sim_g:.3f} g; "
          f"ratio {report['ratio_live_to_simulator']:.3f}; decisions agree {agree:.0%}")
    print(f"wrote {args.out / 'live_consistency.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
