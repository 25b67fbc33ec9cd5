"""Day-1/2/3 MAPE of every forecaster per region and test period, next to CarbonCast.

Protocol (API.md / issue 3): train on every bundled hour before the test start, issue a
72-hour forecast daily at 00:00 UTC over the test window, MAPE per forecast day. Each
model is trained once per cell with ``forecaster_svc.training.train`` (what
``cenas forecast eval`` does); ``ensemble`` is the EnsembleForecaster built from those two
fitted members, weighted by their own held-out training-tail errors exactly as its
``fit`` does (so it equals ``cenas forecast eval --model ensemble``, which trains the
same members with the same seeds; its train time is the sum of theirs). Results are appended to the JSON file as each
cell finishes.

    python benchmarks/forecast_accuracy.py --out benchmarks/results/forecast_accuracy.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from cenas.carbon.traces import load_region
from forecaster_svc.evaluation import backtest
from forecaster_svc.models import HourlySeries
from forecaster_svc.models.ensemble import EnsembleForecaster
from forecaster_svc.training import train

PERIODS = {"2021H2": ("2021-07-01", "2022-01-01"), "2023": ("2023-01-01", "2024-01-01")}
CELLS = [
    ("US-CAL-CISO", "2021H2"), ("US-MIDA-PJM", "2021H2"), ("DE", "2021H2"), ("US-TEX-ERCO", "2021H2"), ("GB", "2021H2"),
    ("carboncast/lifecycle/US-CAL-CISO", "2021H2"), ("carboncast/lifecycle/US-MIDA-PJM", "2021H2"),
    ("US-CAL-CISO", "2023"), ("US-MIDA-PJM", "2023"), ("DE", "2023"), ("US-TEX-ERCO", "2023"), ("GB", "2023"),
]
#: CarbonCast's published day-1/2/3 mean MAPE (test Jul-Dec 2021), see docs/PAPER.md.
CARBONCAST = {"US-CAL-CISO": (9.70, 12.38, 13.18), "US-MIDA-PJM": (2.72, 3.39, 3.77), "DE": (13.29, 17.20, 18.19)}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def run_cell(region: str, period: str, threads: int) -> list[dict]:
    trace = load_region(region)
    test_start, test_end = (utc(t) for t in PERIODS[period])
    series = HourlySeries.from_trace(trace)
    rows, fitted = [], {}
    for name in ("naive", "lightgbm", "tst"):
        model, info = train(trace, model=name, train_end=test_start, threads=threads)
        fitted[name] = model
        rows.append((name, model, info["train_seconds"], info))
    ens = EnsembleForecaster.from_members({"lightgbm": fitted["lightgbm"], "tst": fitted["tst"]}, threads=threads)
    rows.append(("ensemble", ens, rows[1][2] + rows[2][2], rows[1][3]))
    out = []
    for name, model, seconds, info in rows:
        t0 = time.perf_counter()
        bt = backtest(model, series, test_start, test_end, 72)
        ms = 1000 * (time.perf_counter() - t0) / len(bt.issued)
        out.append({"region": region, "period": period, "model": name, **bt.summary(),
                    "train_start": info["train_start"], "train_end": info["train_end"],
                    "train_seconds": round(seconds, 1), "forecast_ms": round(ms, 2)})
        print(json.dumps(out[-1]), flush=True)
    return out


def table(results: list[dict]) -> str:
    lines = ["| series | period | model | day1 | day2 | day3 | train s |", "|---|---|---|---|---|---|---|"]
    seen = set()
    for r in results:
        key = (r["region"], r["period"])
        base = r["region"].split("/")[-1]
        if key not in seen and r["period"] == "2021H2" and base in CARBONCAST:
            c = CARBONCAST[base]
            lines.append(f"| {r['region']} | {r['period']} | CarbonCast (published) | {c[0]:.2f} | {c[1]:.2f} | {c[2]:.2f} | |")
        seen.add(key)
        m = r["mape"]
        lines.append(f"| {r['region']} | {r['period']} | {r['model']} | {m['day1']:.2f} | {m['day2']:.2f} | {m['day3']:.2f} | {r['train_seconds']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/forecast_accuracy.json"))
    ap.add_argument("--cell", action="append", help="REGION@PERIOD (repeatable); default: all")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--table-only", action="store_true", help="print the table of an existing --out file")
    args = ap.parse_args(argv)
    results = json.loads(args.out.read_text()) if args.out.exists() else []
    if not args.table_only:
        cells = [tuple(c.split("@")) for c in args.cell] if args.cell else CELLS
        for region, period in cells:
            results = [r for r in results if (r["region"], r["period"]) != (region, period)]
            results += run_cell(region, period, args.threads)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
