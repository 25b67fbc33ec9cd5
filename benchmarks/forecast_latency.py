"""Forecast latency of the shipped models and their recorded training time.

Latency = one call of the public ``Forecaster.forecast`` (72 hours, history slicing
included) on a loaded model, single-threaded torch, measured ``--repeats`` times after a
warm-up; reported as median and 95th percentile in ms. Training time is what
``cenas forecast train`` recorded in each shipped model.json (``train_seconds``).
Where the region has bundled weather a second row times a forecast issued inside the
weather files' years (2021-10-01) with the weather handed over (``forecast_model`` then
says ``+weather24h`` when the model read it); the first row, 30 days before the trace's
end (past the weather files), is the history-only path live mode takes.

    python benchmarks/forecast_latency.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import torch

from cenas.carbon.traces import load_region
from forecaster_svc.models import HourlySeries
from forecaster_svc.models.store import load_model
from forecaster_svc.training import SHIPPED_REGIONS, bundled_weather, shipped_dir

WEATHER_ISSUE = datetime(2021, 10, 1, tzinfo=timezone.utc)


def time_forecasts(model, series: HourlySeries, issue: datetime, repeats: int, weather=None) -> tuple[list[float], str]:
    """Milliseconds per ``forecast`` call at ``repeats`` hourly issue times before ``issue``."""
    for _ in range(5):
        name = model.forecast(series, issue, 72, weather=weather).model
    times = []
    for i in range(repeats):
        t = issue - timedelta(hours=i)
        t0 = time.perf_counter()
        model.forecast(series, t, 72, weather=weather)
        times.append(1000 * (time.perf_counter() - t0))
    return times, name


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
        size_kb = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) / 1024
        weather = bundled_weather(region)
        cases = [(issue, None)] + ([(WEATHER_ISSUE, weather)] if weather is not None else [])
        for at, wx in cases:
            times, name = time_forecasts(model, series, at, args.repeats, wx)
            rows.append({"region": region, "model": manifest["model"], "forecast_model": name, "issued": f"{at:%Y-%m-%d}",
                         "train_seconds": manifest["train_seconds"],
                         "train_window": f"{manifest['train_start']} .. {manifest['train_end']}",
                         "forecast_ms_median": round(float(np.median(times)), 2),
                         "forecast_ms_p95": round(float(np.percentile(times, 95)), 2), "files_kb": round(size_kb, 1)})
            print(json.dumps(rows[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    print("| region | model | forecast as | train s | forecast ms (median / p95) | files KB |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['region']} | {r['model']} | {r['forecast_model']} | {r['train_seconds']} | "
              f"{r['forecast_ms_median']} / {r['forecast_ms_p95']} | {r['files_kb']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
