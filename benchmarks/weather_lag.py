"""Which carbon hour does a weather value's label line up with? Lagged correlation of the
bundled GFS wind with carbon intensity, per benchmark series.

Both series are smoothed with a trailing 24-hour mean (the daily cycle removed), then
Pearson's r between wind labelled hour t and carbon at hour t + lag, over the hours both
have before 2021-07-01 (the forecast benchmark's training window). A peak at a positive
lag means the labels run earlier than the weather they describe (forecaster_svc/README.md,
"Weather covariates").

    python benchmarks/weather_lag.py
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.forecast_accuracy import WEATHER_CELLS  # noqa: E402
from cenas.carbon.traces import HOUR, load_region  # noqa: E402
from cenas.carbon.weather import WEATHER_SHORT, load_bundled_weather  # noqa: E402

END = datetime(2021, 7, 1, tzinfo=timezone.utc)
LAGS = range(-48, 49, 6)


def trailing_mean(x: np.ndarray, hours: int = 24) -> np.ndarray:
    csum = np.concatenate([[0.0], np.cumsum(x)])
    out = np.full(len(x), np.nan)
    out[hours - 1 :] = (csum[hours:] - csum[:-hours]) / hours
    return out


def lag_correlations(series: str) -> dict[int, float]:
    trace, weather = load_region(series), load_bundled_weather(series)
    hours = int((END - trace.start) / HOUR)
    carbon = trailing_mean(np.asarray(trace.values[:hours], dtype=np.float64))
    wind = trailing_mean(weather.aligned(trace.start, hours)[:, WEATHER_SHORT.index("wind")])
    out = {}
    for lag in LAGS:
        w, c = (wind[: hours - lag], carbon[lag:]) if lag >= 0 else (wind[-lag:], carbon[: hours + lag])
        ok = np.isfinite(w) & np.isfinite(c)
        out[lag] = float(np.corrcoef(w[ok], c[ok])[0, 1])
    return out


def main() -> None:
    print("r(wind labelled t, carbon at t + lag), 24 h trailing means, hours before 2021-07-01")
    for series, _period in WEATHER_CELLS:
        r = lag_correlations(series)
        best = min(r, key=r.get)  # wind lowers carbon: the strongest is the most negative
        print(f"{series:36s} lag 0 h: {r[0]:+.2f}  lag +24 h: {r[24]:+.2f}  strongest at {best:+d} h ({r[best]:+.2f})")


if __name__ == "__main__":
    main()
