from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from forecaster_svc.models import HourlySeries, make_model

START = datetime(2021, 1, 4, tzinfo=timezone.utc)  # a Monday

#: Tiny but real configurations, so the whole contract suite runs in seconds.
TINY = {
    "naive": {},
    "lightgbm": {"max_rounds": 15, "num_leaves": 7, "max_rows": 5000, "threads": 1},
    "tst": {"context_length": 96, "d_model": 16, "num_heads": 2, "ffn_dim": 32, "num_layers": 1, "epochs": 1,
            "batch_size": 128, "threads": 1},
    "ensemble": {"members": {"naive": {}, "lightgbm": {"max_rounds": 10, "num_leaves": 7, "max_rows": 3000}},
                 "threads": 1},
}


def synthetic(hours: int = 1100, seed: int = 0) -> HourlySeries:
    """A daily + weekly cycle with noise, always positive (like carbon intensity)."""
    rng = np.random.default_rng(seed)
    t = np.arange(hours)
    values = 300 + 80 * np.sin(2 * np.pi * t / 24) + 20 * np.sin(2 * np.pi * t / 168) + rng.normal(0, 8, hours)
    return HourlySeries(START, values)


@pytest.fixture(scope="session")
def series() -> HourlySeries:
    return synthetic()


@pytest.fixture(scope="session", params=list(TINY))
def fitted(request, series):
    """Each model, fitted once per session on the first 900 hours."""
    model = make_model(request.param, **TINY[request.param])
    model.fit(HourlySeries(series.start, series.values[:900]))
    return model
