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

``--weather`` runs the weather cells instead (the CarbonCast series, whose regions have
bundled GFS weather): per cell it trains ``lightgbm``, ``lightgbm_weather`` and ``tst``
once and reports, side by side, the history-only models and ensemble (``lightgbm`` +
``tst``) and the weather ones: ``lightgbm_weather`` and ``ensemble+weather`` (all three
members, 1/MAPE² weights per day from each member's held-out tail). Every row names the
weather rule that produced it (``--weather-window W``: a forecast issued at T reads
weather for hours h < T + W h; default the settings' 24). Weather vs no weather is chosen
per region on the validation tail inside the training window (``lightgbm`` and
``lightgbm_weather`` hold out the same issue times; mean MAPE over 72 leads), never on the
test half-year: ``chosen_on_validation`` marks the ensemble picked.

    python benchmarks/forecast_accuracy.py --weather --threads 1 --out benchmarks/results/forecast_accuracy_weather.json
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
from forecaster_svc.training import DEFAULT_WEATHER_WINDOW, bundled_weather, train

PERIODS = {"2021H2": ("2021-07-01", "2022-01-01"), "2023": ("2023-01-01", "2024-01-01")}
CELLS = [
    ("US-CAL-CISO", "2021H2"), ("US-MIDA-PJM", "2021H2"), ("DE", "2021H2"), ("US-TEX-ERCO", "2021H2"), ("GB", "2021H2"),
    ("carboncast/lifecycle/US-CAL-CISO", "2021H2"), ("carboncast/lifecycle/US-MIDA-PJM", "2021H2"),
    ("US-CAL-CISO", "2023"), ("US-MIDA-PJM", "2023"), ("DE", "2023"), ("US-TEX-ERCO", "2023"), ("GB", "2023"),
]
#: Weather cells: CarbonCast's own series (life-cycle for the US regions as in CELLS; DE has
#: only a real direct series, see cenas/data/carbon/SOURCES.md), with CarbonCast's weather.
WEATHER_CELLS = [
    ("carboncast/lifecycle/US-MIDA-PJM", "2021H2"), ("carboncast/direct/DE", "2021H2"),
    ("carboncast/lifecycle/US-CAL-CISO", "2021H2"),
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


def run_weather_cell(region: str, period: str, threads: int, window: int) -> list[dict]:
    """History-only and weather models side by side on one cell (see the module docstring)."""
    trace = load_region(region)
    weather = bundled_weather(region)
    if weather is None:
        raise SystemExit(f"{region}: no bundled weather")
    test_start, test_end = (utc(t) for t in PERIODS[period])
    series = HourlySeries.from_trace(trace)
    fitted, infos = {}, {}
    for name in ("lightgbm", "lightgbm_weather", "tst"):
        fitted[name], infos[name] = train(trace, model=name, train_end=test_start, threads=threads,
                                          weather=weather, weather_window=window)
    ens = EnsembleForecaster.from_members({"lightgbm": fitted["lightgbm"], "tst": fitted["tst"]}, threads=threads)
    ens_wx = EnsembleForecaster.from_members(dict(fitted), threads=threads)
    seconds = {n: infos[n]["train_seconds"] for n in fitted}
    val = {n: round(100 * float(fitted[n].validation_mape.mean()), 3) for n in ("lightgbm", "lightgbm_weather")}
    weather_wins = val["lightgbm_weather"] < val["lightgbm"]
    rule = f"h < T + {window} h"
    rows = [("lightgbm", fitted["lightgbm"], seconds["lightgbm"], "none (history only)", None),
            ("tst", fitted["tst"], seconds["tst"], "none (history only)", None),
            ("ensemble", ens, seconds["lightgbm"] + seconds["tst"], "none (history only)", not weather_wins),
            ("lightgbm_weather", fitted["lightgbm_weather"], seconds["lightgbm_weather"], rule, None),
            ("ensemble+weather", ens_wx, sum(seconds.values()), rule, weather_wins)]
    out = []
    for name, model, secs, used, chosen in rows:
        t0 = time.perf_counter()
        bt = backtest(model, series, test_start, test_end, 72, weather=weather)
        ms = 1000 * (time.perf_counter() - t0) / len(bt.issued)
        out.append({"region": region, "period": period, "model": name, **bt.summary(), "weather_rule": used,
                    "validation_mape_72h": val, "chosen_on_validation": chosen,
                    "weights": None if not name.startswith("ensemble") else
                    {m: [round(float(w), 3) for w in model.weights[i, ::24]] for i, m in enumerate(model.members)},
                    "train_start": infos["lightgbm"]["train_start"], "train_end": infos["lightgbm"]["train_end"],
                    "train_seconds": round(secs, 1), "forecast_ms": round(ms, 2), "threads": threads})
        print(json.dumps(out[-1]), flush=True)
    return out


def table(results: list[dict]) -> str:
    weather = any("weather_rule" in r for r in results)
    lines = ["| series | period | model | day1 | day2 | day3 | train s |" + (" weather rule | chosen on validation |" if weather else ""),
             "|---|---|---|---|---|---|---|" + ("---|---|" if weather else "")]
    seen = set()
    for r in results:
        key = (r["region"], r["period"])
        base = r["region"].split("/")[-1]
        if key not in seen and r["period"] == "2021H2" and base in CARBONCAST:
            c = CARBONCAST[base]
            lines.append(f"| {r['region']} | {r['period']} | CarbonCast (published) | {c[0]:.2f} | {c[1]:.2f} | {c[2]:.2f} | |"
                         + (" GFS weather (CarbonCast's) | |" if weather else ""))
        seen.add(key)
        m = r["mape"]
        chosen = {True: "yes", False: "no", None: ""}[r.get("chosen_on_validation")]
        lines.append(f"| {r['region']} | {r['period']} | {r['model']} | {m['day1']:.2f} | {m['day2']:.2f} | {m['day3']:.2f} | {r['train_seconds']} |"
                     + (f" {r.get('weather_rule', '')} | {chosen} |" if weather else ""))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None,
                    help="[benchmarks/results/forecast_accuracy.json; with --weather forecast_accuracy_weather.json]")
    ap.add_argument("--cell", action="append", help="REGION@PERIOD (repeatable); default: all")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--table-only", action="store_true", help="print the table of an existing --out file")
    ap.add_argument("--weather", action="store_true", help="the weather cells: history-only and weather models side by side")
    ap.add_argument("--weather-window", type=int, default=DEFAULT_WEATHER_WINDOW,
                    help="the day-ahead rule: weather for hours h < T + W h only [%(default)s]")
    args = ap.parse_args(argv)
    args.out = args.out or Path("benchmarks/results/forecast_accuracy" + ("_weather" if args.weather else "") + ".json")
    results = json.loads(args.out.read_text()) if args.out.exists() else []
    if not args.table_only:
        cells = [tuple(c.split("@")) for c in args.cell] if args.cell else (WEATHER_CELLS if args.weather else CELLS)
        for region, period in cells:
            results = [r for r in results if (r["region"], r["period"]) != (region, period)]
            results += (run_weather_cell(region, period, args.threads, args.weather_window) if args.weather
                        else run_cell(region, period, args.threads))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
