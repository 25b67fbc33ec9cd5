"""Hourly weather-forecast covariates (GFS, aggregated per region by CarbonCast).

The bundled files (``cenas/data/weather/<REGION>.csv.gz``, see its ``SOURCES.md``) are
read as they are: their timestamps come in several spellings (``2019-1-1 0:00:00+00:00``,
``2019-01-01 0:00``, ...), all UTC, so each one is parsed explicitly rather than guessed.
A row whose five values are all zero is the files' way of writing "no data" (the US
files end with a day of them), so it is treated as missing (NaN), never as weather.
Missing hours stay NaN: a covariate is never interpolated, because an invented wind
speed would look like a forecast the model could have had.

The files do not say when each value was issued. Which hours a forecast may use is the
forecaster's rule (``Settings.forecaster_weather_window_hours``), not this loader's.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from cenas.carbon.traces import HOUR, _open_text, as_utc
from cenas.errors import InvalidTraceError

#: The covariate columns, in the order of :attr:`WeatherTrace.values`' columns.
WEATHER_COLUMNS: tuple[str, ...] = (
    "forecast_avg_wind_speed_wMean",
    "forecast_avg_temperature_wMean",
    "forecast_avg_dewpoint_wMean",
    "forecast_avg_dswrf_wMean",
    "forecast_avg_precipitation_wMean",
)
#: Short names (features, messages).
WEATHER_SHORT: tuple[str, ...] = ("wind", "temp", "dewpoint", "dswrf", "precip")
#: Regions with a bundled weather file.
WEATHER_REGIONS: tuple[str, ...] = ("US-CAL-CISO", "US-MIDA-PJM", "US-TEX-ERCO", "DE")

_STAMP = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*(Z|[+-]\d{2}:?\d{2})?$"
)


@dataclass(frozen=True)
class WeatherTrace:
    """``values[i]`` (a row of ``len(WEATHER_COLUMNS)``) covers the hour ``start + i h``; NaN = missing."""

    name: str
    start: datetime
    values: np.ndarray  # hours x columns

    def __len__(self) -> int:
        return len(self.values)

    def aligned(self, start: datetime, hours: int) -> np.ndarray:
        """The ``hours x columns`` block for the hours from ``start`` (e.g. a carbon
        series' first hour): NaN wherever the file has no value."""
        return hour_block(self.values, self.start, start, hours)


def hour_block(values: np.ndarray, values_start: datetime, first: datetime, hours: int) -> np.ndarray:
    """``hours x columns`` of hourly ``values`` (row 0 = ``values_start``) from the hour
    ``first`` on, NaN outside them. ValueError when ``first`` is off their hour grid."""
    offset = (as_utc(first) - as_utc(values_start)) / HOUR
    if offset != int(offset):
        raise ValueError(f"{as_utc(first).isoformat()} is not on the hour grid of {as_utc(values_start).isoformat()}")
    out = np.full((max(hours, 0), values.shape[1]), np.nan)
    i0 = int(offset)
    lo, hi = max(i0, 0), min(i0 + hours, len(values))
    if hi > lo:
        out[lo - i0 : hi - i0] = values[lo:hi]
    return out


def parse_weather_time(text: str) -> datetime:
    """Parse one of the files' timestamp spellings as UTC (naive means UTC)."""
    m = _STAMP.match(text.strip())
    if m is None:
        raise ValueError(f"unrecognised timestamp {text!r}")
    year, month, day, hour, minute, second, zone = m.groups()
    when = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), tzinfo=timezone.utc)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        when -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return when


def load_weather_file(path: str | Path, *, name: str | None = None) -> WeatherTrace:
    """Read a weather CSV (plain or ``.gz``): strict about order and columns, all-zero
    rows become missing hours."""
    path = Path(path)
    label = str(path)
    try:
        with _open_text(path) as handle:
            rows = list(csv.reader(handle))
    except (OSError, EOFError, csv.Error, UnicodeDecodeError) as exc:
        raise InvalidTraceError(f"{label}: cannot read weather file: {exc}") from None
    if not rows:
        raise InvalidTraceError(f"{label}: empty weather file")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in ("datetime", *WEATHER_COLUMNS) if c not in header]
    if missing:
        raise InvalidTraceError(f"{label}: row 1 (header): missing column(s) {', '.join(missing)}")
    t_col = header.index("datetime")
    cols = [header.index(c) for c in WEATHER_COLUMNS]
    times: list[datetime] = []
    values: list[list[float]] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            when = parse_weather_time(row[t_col])
            vals = [float(row[c]) for c in cols]
        except (ValueError, IndexError) as exc:
            raise InvalidTraceError(f"{label}: row {line_no}: {exc}") from None
        if when.minute or when.second:
            raise InvalidTraceError(f"{label}: row {line_no}: {row[t_col]!r} is not on the hour")
        if times and when <= times[-1]:
            raise InvalidTraceError(f"{label}: row {line_no}: {row[t_col]!r} is not after the row before")
        if all(v == 0.0 for v in vals):
            continue  # the files' filler for missing data, not weather
        times.append(when)
        values.append(vals)
    if not times:
        raise InvalidTraceError(f"{label}: no weather rows with data")
    index = np.array([(t - times[0]) // HOUR for t in times], dtype=np.int64)
    grid = np.full((int(index[-1]) + 1, len(WEATHER_COLUMNS)), np.nan)
    grid[index] = np.asarray(values, dtype=np.float64)
    return WeatherTrace(name or path.name.split(".")[0], times[0], grid)


def weather_region(series: str) -> str:
    """The weather region of a carbon series name: ``carboncast/lifecycle/DE`` -> ``DE``."""
    return series.rsplit("/", 1)[-1]


@lru_cache(maxsize=8)
def load_bundled_weather(series: str) -> WeatherTrace | None:
    """The bundled weather for a carbon series' region, or None where there is none
    (GB; user trace files)."""
    region = weather_region(series)
    if region not in WEATHER_REGIONS:
        return None
    path = Path(str(resources.files("cenas") / "data" / "weather" / f"{region}.csv.gz"))
    if not path.is_file():
        return None
    return load_weather_file(path, name=region)
