"""Contract tests run over every forecaster (one fixture, parametrised by model)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from forecaster_svc.errors import ForecastInputError, NotFittedError, UnknownModelError
from forecaster_svc.models import HourlySeries, make_model
from forecaster_svc.models.store import load_model, read_manifest, save_model

from .conftest import START, TINY

HOUR = timedelta(hours=1)
ISSUE = START + 950 * HOUR


def test_shapes_and_horizon(fitted, series):
    for horizon in (1, 24, 72):
        fc = fitted.forecast(series, ISSUE, horizon)
        assert fc.values.shape == (horizon,)
        assert fc.issued_at == ISSUE and fc.model == fitted.name
        assert fc.times()[0] == ISSUE and fc.times()[-1] == ISSUE + (horizon - 1) * HOUR
        assert np.all(np.isfinite(fc.values))
        for level, band in fc.quantiles.items():
            assert 0 < level < 1 and band.shape == (horizon,)


def test_quantiles_are_ordered(fitted, series):
    q = fitted.forecast(series, ISSUE, 72).quantiles
    if q:
        assert np.all(q[0.1] <= q[0.5] + 1e-9) and np.all(q[0.5] <= q[0.9] + 1e-9)


def test_no_leakage_future_changes_do_not_move_the_forecast(fitted, series):
    """A forecast issued at t is identical when every value at or after t is replaced."""
    i = int((ISSUE - series.start) / HOUR)
    tampered = series.values.copy()
    tampered[i:] = np.random.default_rng(1).uniform(1, 5000, len(tampered) - i)
    a = fitted.forecast(series, ISSUE, 72).values
    b = fitted.forecast(HourlySeries(series.start, tampered), ISSUE, 72).values
    np.testing.assert_array_equal(a, b)
    # and a series that simply ends at t gives the same forecast too
    c = fitted.forecast(HourlySeries(series.start, series.values[:i]), ISSUE, 72).values
    np.testing.assert_array_equal(a, c)


def test_the_past_does_move_the_forecast(fitted, series):
    i = int((ISSUE - series.start) / HOUR)
    changed = series.values.copy()
    changed[i - 24 : i] *= 1.5
    a = fitted.forecast(series, ISSUE, 72).values
    b = fitted.forecast(HourlySeries(series.start, changed), ISSUE, 72).values
    assert not np.allclose(a, b)


def test_forecast_is_deterministic(fitted, series):
    np.testing.assert_array_equal(fitted.forecast(series, ISSUE).values, fitted.forecast(series, ISSUE).values)


def test_save_and_load_round_trip(fitted, series, tmp_path):
    save_model(fitted, tmp_path / "m", {"region": "synthetic", "seed": 0})
    loaded, manifest = load_model(tmp_path / "m")
    assert manifest["model"] == fitted.name and "library_versions" in manifest
    # rtol: the transformer's weights are stored as float16
    np.testing.assert_allclose(loaded.forecast(series, ISSUE).values, fitted.forecast(series, ISSUE).values, rtol=5e-3)
    assert read_manifest(tmp_path / "m")["hyperparameters"] == fitted.hyperparameters()


def test_refuses_bad_requests(fitted, series):
    with pytest.raises(ForecastInputError, match="horizon"):
        fitted.forecast(series, ISSUE, 73)
    with pytest.raises(ForecastInputError, match="not on the hour"):
        fitted.forecast(series, ISSUE + timedelta(minutes=5))
    with pytest.raises(ForecastInputError, match="hours right before"):
        fitted.forecast(series, START + 10 * HOUR)
    with pytest.raises(ForecastInputError, match="hours right before"):  # a gap before the issue time
        fitted.forecast(series, START + 2000 * HOUR)


@pytest.mark.parametrize("name", list(TINY))
def test_unfitted_model_refuses_to_forecast(name, series):
    with pytest.raises(NotFittedError):
        make_model(name, **TINY[name]).forecast(series, ISSUE)


@pytest.mark.parametrize("name", list(TINY))
def test_too_short_history_is_refused(name):
    model = make_model(name, **TINY[name])
    with pytest.raises(ForecastInputError, match="at least"):
        model.fit(HourlySeries(START, np.full(50, 100.0)))


def test_unknown_model_name():
    with pytest.raises(UnknownModelError, match="unknown model 'prophet'"):
        make_model("prophet")


@pytest.mark.parametrize("kwargs", [{"num_leaves": 1}, {"learning_rate": 0.0}, {"validation_fraction": 0.9}])
def test_lightgbm_validates_hyperparameters(kwargs):
    with pytest.raises(ValueError, match=repr(next(iter(kwargs.values())))):
        make_model("lightgbm", **kwargs)


def test_naive_repeats_the_last_day(series):
    model = make_model("naive").fit(series)
    i = int((ISSUE - series.start) / HOUR)
    fc = model.forecast(series, ISSUE, 72).values
    np.testing.assert_array_equal(fc, np.tile(series.values[i - 24 : i], 3))


def test_lightgbm_beats_naive_on_a_learnable_series():
    from .conftest import synthetic

    s = synthetic(2000, seed=3)
    train = HourlySeries(s.start, s.values[:1500])
    gbm = make_model("lightgbm", max_rounds=80, threads=1).fit(train)
    naive = make_model("naive").fit(train)
    issues = [s.start + (1500 + 24 * d) * HOUR for d in range(15)]
    actual = np.stack([s.values[1500 + 24 * d : 1500 + 24 * d + 72] for d in range(15)])
    err = {m.name: np.mean(np.abs(np.stack([m.forecast(s, t).values for t in issues]) - actual) / actual)
           for m in (gbm, naive)}
    assert err["lightgbm"] < err["naive"]


def test_ensemble_weights_favour_the_member_with_the_smaller_validation_error(series):
    from forecaster_svc.models.ensemble import EnsembleForecaster

    train = HourlySeries(series.start, series.values[:900])
    hp = TINY["ensemble"]["members"]
    ens = make_model("ensemble", **TINY["ensemble"]).fit(train)
    np.testing.assert_allclose(ens.weights.sum(axis=0), 1.0)
    errs = {n: m.validation_mape[:24].mean() for n, m in ens.members.items()}
    better = min(errs, key=errs.get)
    assert ens.weights[list(ens.members).index(better), 0] > 0.5
    # built from separately fitted members, it is the same model
    fitted = {n: make_model(n, **({"threads": 1, **h} if n != "naive" else h)).fit(train) for n, h in hp.items()}
    twin = EnsembleForecaster.from_members(fitted, threads=1)
    np.testing.assert_allclose(twin.weights, ens.weights)
    np.testing.assert_allclose(twin.forecast(series, ISSUE).values, ens.forecast(series, ISSUE).values)
