"""Forecast latency of the shipped models and their recorded training time.

Latency = one call of the public ``Forecaster.forecast`` (72 hours, history slicing
included) on a loaded model, single-threaded torch, measured ``--repeats`` times after a
warm-up; reported as median and 95th percentile in ms. Training time is what
``cenas forecast train`` recorded in each shipped model.json (``train_seconds``).

    python benchmarks/forecast_latency.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch

from cenas.carbon.traces import load_region
from forecaster_svc.models import HourlySeries
from forecaster_svc.models.store import load_model
from forecaster_svc.training import SHIPPED_REGIONS, shipped_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/forecast_latency.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    rows = []
    for region in SHIPPED_REGIONS:
        directory = shipped_dir(region)
        model, manifest = load_model(directory)
        series = HourlySeries.from_trace(load_region(region))
        issue = series.start + (len(series) - 24 * 30) * timedelta(hours=1)
        issue = issue.replace(hour=0)
        for _ in range(5):
            model.forecast(series, issue, 72)
        times = []
        for i in range(args.repeats):
            t = issue - timedelta(hours=i)
            t0 = time.perf_counter()
            model.forecast(series, t, 72)
            times.append(1000 * (time.perf_counter() - t0))
        size_kb = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 1024
        rows.append({"region": region, "model": manifest["model"], "train_seconds": manifest["train_seconds"],
                     "train_window": f"{manifest['train_start']} .. {manifest['train_end']}",
                     "forecast_ms_median": round(float(np.median(times)), 2),
                     "forecast_ms_p95": round(float(np.percentile(times, 95)), 2), "files_kb": round(size_kb, 1)})
        print(json.dumps(rows[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print("| region | model | train s | forecast ms (median / p95) | files KB |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['region']} | {r['model']} | {r['train_seconds']} | {r['forecast_ms_median']} / {r['forecast_ms_p95']} | {r['files_kb']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
