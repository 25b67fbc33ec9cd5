"""The real forecaster's day-ahead errors, as the simulator's `backtest` forecast replays them.

    python benchmarks/forecast_errors.py [--model lightgbm] [--threads 2]

Why (issue 22.4): the policies were trained on forecasts whose errors were independent
draws per lead hour. A real forecaster's errors persist over hours, because a wrong level
stays wrong for the whole day, and this script measures by how much. For each bundled
region it trains `--model` on the data before 2021-07-01 and issues a 72-hour forecast
at each midnight of 2021-07-01..2022-01-01 (forecaster_svc.evaluation.backtest). It
stores the log errors `log(predicted / actual)`, one row per forecast, in
`scheduler_svc/simulator/data/forecast_errors.npz`.

It prints per region the day-1/2/3 MAPE, the error's standard deviation at leads 1, 24
and 72, and the correlation of errors one and 12 hours apart within a forecast. An error
independent per lead would show about 0 there.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from cenas.carbon.traces import BUNDLED_REGIONS, load_region
from forecaster_svc.evaluation import backtest
from forecaster_svc.models.base import HourlySeries
from forecaster_svc.training import train
from scheduler_svc.simulator.forecasts import BACKTEST_ERRORS_PATH

TRAIN_END = datetime(2021, 7, 1, tzinfo=timezone.utc)
TEST_END = datetime(2022, 1, 1, tzinfo=timezone.utc)


def lag_correlation(errors: np.ndarray, lag: int) -> float:
    a, b = errors[:, :-lag].ravel(), errors[:, lag:].ravel()
    return float(np.corrcoef(a, b)[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="lightgbm")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=BACKTEST_ERRORS_PATH)
    args = parser.parse_args()
    arrays, stats = {}, {}
    for region in BUNDLED_REGIONS:
        t0 = time.monotonic()
        trace = load_region(region)
        model, _ = train(trace, model=args.model, train_end=TRAIN_END, threads=args.threads)
        result = backtest(model, HourlySeries.from_trace(trace), TRAIN_END, TEST_END, 72)
        errors = np.log(np.maximum(result.predicted, 1e-6) / np.maximum(result.actual, 1e-6))
        arrays[region] = errors.astype(np.float32)
        ape = np.abs(result.predicted - result.actual) / np.maximum(result.actual, 1e-6) * 100
        stats[region] = {
            "forecasts": len(errors),
            "mape": {f"day{d + 1}": round(float(ape[:, 24 * d : 24 * (d + 1)].mean()), 2) for d in range(3)},
            "sigma_lead": {str(h): round(float(errors[:, h - 1].std()), 4) for h in (1, 24, 72)},
            "correlation_lag": {str(k): round(lag_correlation(errors, k), 3) for k in (1, 12)},
            "seconds": round(time.monotonic() - t0, 1),
        }
        print(region, json.dumps(stats[region]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays, stats=json.dumps({"model": args.model, "train_end": f"{TRAIN_END:%Y-%m-%d}",
                                                             "test": f"{TRAIN_END:%Y-%m-%d}..{TEST_END:%Y-%m-%d}", "regions": stats}))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
