"""Does a policy move GPUs with the carbon signal? One decision per hour of a real day.

    .venv/bin/python benchmarks/rl_signal_response.py [--region US-CAL-CISO] [--day 2021-06-30]
        [--gpus 3 4 8] [--policies rl mpc heuristic] [--accounting full paper]

Each policy decides hour by hour over a day of the bundled trace with fixed search progress
(hypervolume fraction 0.3, 5 evaluations, 5 queued, 1 carried), its forecast the trace's
true next 72 hours. Prints the evaluation GPUs per hour beside the intensity and their
correlation: a carbon-aware policy evaluates less in dirty hours (negative correlation).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scheduler_svc.rl  # noqa: E402,F401  registers rl, mpc, oracle
from cenas.carbon.accounting import accounting_preset  # noqa: E402
from cenas.carbon.traces import load_region  # noqa: E402
from cenas.tasks.nb201 import NB201Problem  # noqa: E402
from scheduler_svc.simulator.allocation import EpisodeContext, Observation  # noqa: E402
from scheduler_svc.simulator.policies import make_policy  # noqa: E402

HOURS_TOTAL = 40


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="US-CAL-CISO")
    parser.add_argument("--day", default="2021-06-30")
    parser.add_argument("--gpus", type=int, nargs="+", default=[3, 4, 8])
    parser.add_argument("--policies", nargs="+", default=["rl", "mpc", "heuristic"])
    parser.add_argument("--accounting", nargs="+", default=["full", "paper"])
    args = parser.parse_args()
    trace = load_region(args.region)
    first = trace.index_of(datetime.fromisoformat(args.day).replace(tzinfo=timezone.utc))
    max_hv = NB201Problem().max_hypervolume
    for accounting in args.accounting:
        for name in args.policies:
            for gpus in args.gpus:
                policy = make_policy(name)
                policy.reset(EpisodeContext(gpus, HOURS_TOTAL, None, max_hv, 0, accounting_preset(accounting)))
                hours = range(first + 24, first + 48)
                intensity = np.array([trace.values[h] for h in hours])
                evaluation = np.array([policy.decide(Observation(
                    hour=h - first - 24, hours_total=HOURS_TOTAL, gpus=gpus, intensity=float(trace.values[h]),
                    intensity_history=trace.values[h - 23 : h + 1], forecast=trace.values[h + 1 : h + 73],
                    hypervolume_fraction=0.3, hypervolume_gain=0.01, evaluations=5, queued=5, carried=1, carbon_g=1.0,
                    energy_kwh=0.01, carbon_cap_g=None, forecast_std=None)).evaluation for h in hours])
                corr = float(np.corrcoef(intensity, evaluation)[0, 1]) if evaluation.std() > 0 else float("nan")
                print(f"{accounting:5s} {name:9s} {gpus} GPUs: evaluation GPUs {evaluation.tolist()}  "
                      f"(min {evaluation.min()}, max {evaluation.max()}, correlation with intensity {corr:+.2f})")
    print(f"intensity {args.region} {args.day} +24 h: {[int(v) for v in intensity]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
