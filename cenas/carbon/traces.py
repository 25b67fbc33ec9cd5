"""Hourly carbon-intensity traces: strict loading, optional gap filling, time windows.

A trace file is a CSV (optionally gzip-compressed) with columns `timestamp` (ISO-8601 UTC,
on the hour) and `carbon_intensity` (gCO2eq/kWh). Bad input is refused with one message
naming the file and the row, because a silently shifted or gappy trace corrupts every
carbon figure computed from it.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from cenas.errors import InvalidTraceError, TraceRangeError, UnknownRegionError

REQUIRED_COLUMNS = ("timestamp", "carbon_intensity")
HOUR = timedelta(hours=1)

#: Electricity Maps life-cycle series, 2021-2023 (see data/carbon/SOURCES.md).
BUNDLED_REGIONS = ("US-CAL-CISO", "US-MIDA-PJM", "DE", "US-TEX-ERCO", "GB")
#: Other bundled series, addressed as "<set>/<REGION>", e.g. "carboncast/lifecycle/US-CAL-CISO".
BUNDLED_SETS = ("", "direct", "carboncast/direct", "carboncast/lifecycle")


@dataclass(frozen=True)
class CarbonTrace:
    """An hourly series starting at `start` (UTC, on the hour); `values[i]` covers hour i."""

    name: str
    start: datetime
    values: np.ndarray
    filled_hours: tuple[datetime, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.values)

    @property
    def end(self) -> datetime:
        """Start of the last hour in the trace."""
        return self.start + (len(self.values) - 1) * HOUR

    def timestamps(self) -> list[datetime]:
        return [self.start + i * HOUR for i in range(len(self.values))]

    def index_of(self, when: datetime) -> int:
        """Index of the hour containing `when`; raises TraceRangeError outside the trace."""
        when = as_utc(when)
        offset = (when - self.start) / HOUR
        index = int(np.floor(offset))
        if not 0 <= index < len(self.values):
            raise TraceRangeError(
                f"{when:%Y-%m-%dT%H:%M:%SZ} is outside trace {self.name} "
                f"({self.start:%Y-%m-%dT%H:%M:%SZ} .. {self.end:%Y-%m-%dT%H:%M:%SZ})"
            )
        return index

    def window(self, start: datetime, hours: int) -> np.ndarray:
        """The `hours` hourly values from the hour containing `start`."""
        first = self.index_of(start)
        if hours < 1:
            raise TraceRangeError(f"hours must be at least 1, got {hours}")
        if first + hours > len(self.values):
            last = self.start + (first + hours - 1) * HOUR
            raise TraceRangeError(
                f"{hours} hours from {as_utc(start):%Y-%m-%dT%H:%M:%SZ} run past the end of "
                f"trace {self.name} ({self.end:%Y-%m-%dT%H:%M:%SZ}; would need {last:%Y-%m-%dT%H:%M:%SZ})"
            )
        return self.values[first : first + hours]


def as_utc(when: datetime) -> datetime:
    """Naive datetimes are taken as UTC; aware ones are converted."""
    if when.tzinfo is None:
        return when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc)


def parse_utc(text: str) -> datetime:
    """Parse an ISO-8601 timestamp ('Z' or an offset; naive means UTC)."""
    return as_utc(datetime.fromisoformat(text.strip().replace("Z", "+00:00")))


def bundled_trace_path(region: str) -> Path:
    """Path of a bundled trace: a region ('US-CAL-CISO') or '<set>/<region>'."""
    base = resources.files("cenas") / "data" / "carbon"
    path = Path(str(base / f"{region}.csv.gz"))
    known = [f"{s}/{r}" if s else r for s in BUNDLED_SETS for r in BUNDLED_REGIONS]
    if region not in known or not path.is_file():
        available = ", ".join(BUNDLED_REGIONS)
        raise UnknownRegionError(f"unknown region {region!r}; bundled regions: {available}")
    return path


@lru_cache(maxsize=32)
def load_region(region: str) -> CarbonTrace:
    """Load a bundled trace (cached: bundled files never change)."""
    trace = load_trace(bundled_trace_path(region))
    return CarbonTrace(region, trace.start, trace.values)


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def load_trace(path: str | Path, *, fill_gaps: bool = False, name: str | None = None) -> CarbonTrace:
    """Read and validate an hourly trace file.

    Gaps (missing hours) are an error unless `fill_gaps` is true; then they are filled by
    linear interpolation and listed in `CarbonTrace.filled_hours` so callers can report them.
    """
    path = Path(path)
    label = str(path)
    try:
        handle = _open_text(path)
    except OSError as exc:
        raise InvalidTraceError(f"{label}: cannot read trace file: {exc.strerror or exc}") from None
    with handle:
        try:
            rows = list(csv.reader(handle))
        except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
            raise InvalidTraceError(f"{label}: not a readable CSV file: {exc}") from None
    if not rows:
        raise InvalidTraceError(f"{label}: empty file; expected a header row timestamp,carbon_intensity")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InvalidTraceError(f"{label}: row 1 (header): missing column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}")
    t_col, v_col = header.index("timestamp"), header.index("carbon_intensity")
    times: list[datetime] = []
    values: list[float] = []
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank line
        times.append(_parse_time(row, t_col, label, line_no))
        values.append(_parse_value(row, v_col, label, line_no))
        if len(times) > 1:
            step = times[-1] - times[-2]
            if step == timedelta(0):
                raise InvalidTraceError(f"{label}: row {line_no}: duplicate timestamp {row[t_col].strip()}")
            if step < timedelta(0):
                raise InvalidTraceError(f"{label}: row {line_no}: timestamp {row[t_col].strip()} is earlier than the row before; rows must be sorted")
    if not values:
        raise InvalidTraceError(f"{label}: no data rows")
    return _assemble(name or path.name.split(".")[0], times, values, rows_offset=2, label=label, fill_gaps=fill_gaps)


def _parse_time(row: list[str], col: int, label: str, line_no: int) -> datetime:
    cell = row[col].strip() if col < len(row) else ""
    if not cell:
        raise InvalidTraceError(f"{label}: row {line_no}: missing timestamp")
    try:
        when = parse_utc(cell)
    except ValueError:
        raise InvalidTraceError(f"{label}: row {line_no}: cannot parse timestamp {cell!r} (expected ISO-8601 UTC)") from None
    if when.minute or when.second or when.microsecond:
        raise InvalidTraceError(f"{label}: row {line_no}: timestamp {cell} is not on the hour; the trace must be hourly")
    return when


def _parse_value(row: list[str], col: int, label: str, line_no: int) -> float:
    cell = row[col].strip() if col < len(row) else ""
    if not cell:
        raise InvalidTraceError(f"{label}: row {line_no}: missing carbon_intensity value")
    try:
        value = float(cell)
    except ValueError:
        raise InvalidTraceError(f"{label}: row {line_no}: carbon_intensity {cell!r} is not a number") from None
    if not np.isfinite(value):
        raise InvalidTraceError(f"{label}: row {line_no}: carbon_intensity {cell!r} is missing (not finite)")
    if value < 0:
        raise InvalidTraceError(f"{label}: row {line_no}: carbon_intensity {value} is negative")
    return value


def _assemble(
    name: str, times: list[datetime], values: list[float], *, rows_offset: int, label: str, fill_gaps: bool
) -> CarbonTrace:
    hours = np.array([(t - times[0]) / HOUR for t in times])
    index = np.rint(hours).astype(np.int64)
    steps = np.diff(index)
    gaps = np.flatnonzero(steps > 1)
    if len(gaps) and not fill_gaps:
        first = int(gaps[0])
        missing = int(steps[gaps].sum() - len(gaps))
        raise InvalidTraceError(
            f"{label}: row {first + rows_offset + 1}: gap after {times[first]:%Y-%m-%dT%H:%M:%SZ} "
            f"({int(steps[first]) - 1} missing hour(s); {missing} in {len(gaps)} gap(s) overall); "
            "pass fill_gaps / --fill-gaps to interpolate them"
        )
    full = np.arange(index[-1] + 1)
    filled = np.interp(full, index, np.asarray(values, dtype=np.float64))
    present = np.zeros(len(full), dtype=bool)
    present[index] = True
    filled_hours = tuple(times[0] + int(i) * HOUR for i in np.flatnonzero(~present))
    return CarbonTrace(name, times[0], filled, filled_hours)
