"""Synthetic and randomised carbon-intensity traces.

Why: a scheduling policy trained on five real grids learns those grids' levels and daily
shapes, and a new user's grid (coal-heavy and flat, or solar with a deep midday trough)
looks like none of them. Training also on randomised copies of the real traces (level
rescaled, swing stretched or flattened, shifted in time, mixed with another grid, noise
added) and on synthetic grids of other shapes teaches the policy to read a grid by its
own range, not by absolute grams.

Synthetic grids come in families (`FAMILIES`), each a level, a daily shape, a weekly and
a seasonal swing, and slow autocorrelated noise drawn from family-specific ranges.

The test grids (`TEST_GRIDS`, addressed as "synthetic/<family>-<i>") come from seeds at
or above `TEST_SEED_BASE`. Training draws its seeds below it, so no test grid can ever
appear in training.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from cenas.carbon.traces import CarbonTrace
from cenas.errors import UnknownRegionError

FAMILIES = ("solar", "wind", "coal", "hydro", "mixed")
TEST_SEED_BASE = 1_000_000
TEST_GRIDS_PER_FAMILY = 2
TEST_GRIDS = tuple(f"synthetic/{family}-{i}" for family in FAMILIES for i in range(TEST_GRIDS_PER_FAMILY))
#: test grids cover 2023, like the real grids' held-out year
TEST_START = datetime(2023, 1, 1, tzinfo=timezone.utc)
TEST_HOURS = 24 * 365

#: family -> (level g/kWh, solar trough depth, demand-peak amplitude, weekend dip,
#: seasonal swing, noise sigma, noise persistence), each a (low, high) range, relative to the level
_FAMILY_RANGES: dict[str, tuple[tuple[float, float], ...]] = {
    "solar": ((150, 450), (0.25, 0.65), (0.05, 0.2), (0.0, 0.1), (0.0, 0.25), (0.03, 0.12), (0.8, 0.95)),
    "wind": ((150, 500), (0.0, 0.1), (0.02, 0.1), (0.0, 0.08), (0.0, 0.2), (0.15, 0.35), (0.97, 0.995)),
    "coal": ((600, 950), (0.0, 0.05), (0.03, 0.12), (0.0, 0.06), (0.0, 0.08), (0.02, 0.06), (0.9, 0.99)),
    "hydro": ((20, 150), (0.0, 0.15), (0.1, 0.3), (0.0, 0.1), (0.1, 0.4), (0.1, 0.3), (0.9, 0.99)),
    "mixed": ((80, 700), (0.0, 0.5), (0.02, 0.25), (0.0, 0.12), (0.0, 0.3), (0.03, 0.3), (0.8, 0.995)),
}


def _ar1(rng: np.random.Generator, hours: int, sigma: float, persistence: float) -> np.ndarray:
    """Stationary AR(1) noise with marginal standard deviation `sigma`."""
    shocks = rng.normal(0.0, sigma * np.sqrt(1.0 - persistence**2), hours)
    out = np.empty(hours)
    out[0] = rng.normal(0.0, sigma)
    for t in range(1, hours):
        out[t] = persistence * out[t - 1] + shocks[t]
    return out


def synthetic_values(family: str, rng: np.random.Generator, hours: int) -> np.ndarray:
    """An hourly series of `hours` values of one family, starting on a Monday at 00:00 local."""
    if family not in _FAMILY_RANGES:
        raise ValueError(f"unknown synthetic family {family!r}; choose one of {', '.join(FAMILIES)}")
    level, trough, peak, weekend, season, sigma, persistence = (rng.uniform(lo, hi) for lo, hi in _FAMILY_RANGES[family])
    t = np.arange(hours, dtype=np.float64)
    local_hour = (t + rng.integers(24)) % 24  # the grid's time zone
    daylight = np.clip(np.sin(np.pi * (local_hour - 6.0) / 12.0), 0.0, None)
    demand = np.cos(2 * np.pi * (local_hour - 18.0) / 24.0)  # evening peak
    weekday = (t // 24) % 7
    shape = 1.0 - trough * daylight + peak * demand - weekend * (weekday >= 5)
    shape += season * np.cos(2 * np.pi * (t / (24 * 365.25) + rng.uniform()))
    values = level * shape * np.exp(_ar1(rng, hours, sigma, persistence))
    return np.maximum(values, 0.05 * level)


def randomise(values: np.ndarray, rng: np.random.Generator, donor: np.ndarray | None = None) -> np.ndarray:
    """A copy of a real series with its level, swing, timing and noise redrawn.

    Level x 0.3-3, swing around the mean x 0.3-2, shifted 0-23 hours, mixed with up to
    half of `donor` (rescaled to the same mean), and multiplicative AR(1) noise of up
    to 10 %. The result stays positive.
    """
    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    out = np.roll(values, int(rng.integers(24)))
    if donor is not None and len(donor) >= len(out):
        share = rng.uniform(0.0, 0.5)
        donor = np.asarray(donor[: len(out)], dtype=np.float64)
        out = (1 - share) * out + share * donor * mean / max(float(donor.mean()), 1e-9)
    out = mean + (out - mean) * rng.uniform(0.3, 2.0)
    out = out * np.exp(_ar1(rng, len(out), rng.uniform(0.0, 0.1), rng.uniform(0.8, 0.99)))
    out = out * np.exp(rng.uniform(np.log(0.3), np.log(3.0)))
    return np.maximum(out, 0.05 * mean)


def synthetic_trace(family: str, seed: int, *, start: datetime = TEST_START, hours: int = TEST_HOURS) -> CarbonTrace:
    """A named synthetic grid, the same for the same family and seed."""
    rng = np.random.default_rng(seed)
    return CarbonTrace(name=f"synthetic/{family}@{seed}", start=start, values=synthetic_values(family, rng, hours))


def is_test_grid(name: str) -> bool:
    return name.startswith("synthetic/")


def load_test_grid(name: str) -> CarbonTrace:
    """A test grid by its name ("synthetic/<family>-<i>"): 2023's hours, a seed no training draw uses."""
    family, _, index = name.removeprefix("synthetic/").rpartition("-")
    if family not in FAMILIES or not index.isdigit():
        raise UnknownRegionError(f"unknown synthetic grid {name!r}; the test grids are {', '.join(TEST_GRIDS)}")
    seed = TEST_SEED_BASE + FAMILIES.index(family) * 1000 + int(index)
    trace = synthetic_trace(family, seed)
    return CarbonTrace(name=name, start=trace.start, values=trace.values)
