from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from cenas.carbon.providers import ElectricityMapsProvider, ReplayProvider, WattTimeProvider
from cenas.clock import ManualClock
from cenas.errors import (ProviderAuthError, ProviderConfigError, ProviderRateLimitError, ProviderResponseError,
                          ProviderUnavailableError)

from .conftest import EM_TOKEN, NOW, WT_PASS, WT_USER, em_value

FAST = {"backoff": 0.0, "timeout": 0.3, "max_retries": 2}


def em(fake_api, token: str = EM_TOKEN, **kw) -> ElectricityMapsProvider:
    return ElectricityMapsProvider(token, base_url=fake_api.url, **{**FAST, **kw})


def wt(fake_api, password: str = WT_PASS, **kw) -> WattTimeProvider:
    return WattTimeProvider(WT_USER, password, base_url=fake_api.url, **{**FAST, **kw})


# Electricity Maps -------------------------------------------------------------
def test_em_latest_success(fake_api):
    reading = em(fake_api).latest("DE")
    assert reading.time == NOW and reading.intensity == pytest.approx(em_value(NOW))


def test_em_history_splits_long_ranges_and_is_hourly(fake_api):
    start = NOW - timedelta(days=14)
    trace = em(fake_api).history("DE", start, NOW)
    assert len(trace) == 14 * 24 and trace.start == start
    assert fake_api.hits["/v3/carbon-intensity/past-range"] == 2  # 10-day limit per request
    assert trace.values[5] == pytest.approx(em_value(start + timedelta(hours=5)))


def test_em_history_is_cached(fake_api):
    p = em(fake_api)
    p.history("DE", NOW - timedelta(days=1), NOW)
    p.history("DE", NOW - timedelta(days=1), NOW)
    assert fake_api.hits["/v3/carbon-intensity/past-range"] == 1


def test_em_recent_24h(fake_api):
    trace = em(fake_api).recent("GB")
    assert len(trace) == 24


def test_em_401_is_a_clear_auth_error(fake_api):
    with pytest.raises(ProviderAuthError, match="electricitymaps.*credentials.*HTTP 401"):
        em(fake_api, token="wrong").latest("DE")


def test_em_missing_token_is_a_config_error():
    with pytest.raises(ProviderConfigError, match="CENAS_ELECTRICITYMAPS_TOKEN"):
        ElectricityMapsProvider(None)


def test_em_429_is_retried_then_succeeds(fake_api):
    fake_api.fail("/v3/carbon-intensity/latest", [429, 429])
    slept: list[float] = []
    reading = em(fake_api, sleep=slept.append).latest("DE")
    assert reading.intensity > 0
    assert fake_api.hits["/v3/carbon-intensity/latest"] == 3
    assert len(slept) == 2


def test_em_429_forever_gives_rate_limit_error(fake_api):
    fake_api.fail("/v3/carbon-intensity/latest", [429] * 5)
    with pytest.raises(ProviderRateLimitError, match="429.*gave up after 3 attempts"):
        em(fake_api).latest("DE")


def test_em_backoff_grows_exponentially(fake_api):
    fake_api.fail("/v3/carbon-intensity/latest", [503, 503])
    slept: list[float] = []
    em(fake_api, backoff=0.01, sleep=slept.append).latest("DE")
    assert slept == [0.01, 0.02]


def test_em_timeout_gives_unavailable(fake_api):
    fake_api.fail("/v3/carbon-intensity/latest", ["timeout"] * 3)
    with pytest.raises(ProviderUnavailableError, match="timed out"):
        em(fake_api).latest("DE")


def test_em_connection_refused_gives_unavailable():
    p = ElectricityMapsProvider(EM_TOKEN, base_url="http://127.0.0.1:9", **FAST)
    with pytest.raises(ProviderUnavailableError, match="cannot connect"):
        p.latest("DE")


def test_em_malformed_body(fake_api):
    fake_api.fail("/v3/carbon-intensity/latest", ["garbage"])
    with pytest.raises(ProviderResponseError, match="not JSON"):
        em(fake_api).latest("DE")


def test_em_missing_fields(fake_api):
    fake_api.fail("/v3/carbon-intensity/latest", [{"zone": "DE", "carbonIntensity": None, "datetime": "2024-03-01T12:00:00Z"}])
    with pytest.raises(ProviderResponseError, match="carbonIntensity None"):
        em(fake_api).latest("DE")


# WattTime ---------------------------------------------------------------------
def test_wt_login_then_latest_converts_units(fake_api):
    reading = wt(fake_api).latest("US-CAL-CISO")
    assert reading.intensity == pytest.approx(1000.0 * 0.453592)
    assert fake_api.tokens_issued == 1


def test_wt_history_averages_5min_points_into_hours(fake_api):
    trace = wt(fake_api).history("US-CAL-CISO", NOW - timedelta(hours=48), NOW)
    assert len(trace) == 48
    assert np.allclose(trace.values, np.mean(900.0 + np.arange(12) * 10) * 0.453592)


def test_wt_bad_password_is_auth_error(fake_api):
    with pytest.raises(ProviderAuthError, match="watttime: /login"):
        wt(fake_api, password="nope").latest("US-CAL-CISO")


def test_wt_expired_token_is_refreshed_once(fake_api):
    p = wt(fake_api)
    p.latest("US-CAL-CISO")
    fake_api.tokens_issued += 1  # the server rotates: our token is now stale
    p.latest("US-CAL-CISO")
    assert fake_api.tokens_issued == 3  # one re-login


def test_wt_429_retry(fake_api):
    fake_api.fail("/v3/forecast", [429])
    assert wt(fake_api).latest("US-CAL-CISO").intensity > 0
    assert fake_api.hits["/v3/forecast"] == 2


def test_wt_timeout(fake_api):
    fake_api.fail("/v3/forecast", ["timeout"] * 3)
    with pytest.raises(ProviderUnavailableError):
        wt(fake_api).latest("US-CAL-CISO")


def test_wt_malformed(fake_api):
    fake_api.fail("/v3/forecast", [{"meta": {}}])
    with pytest.raises(ProviderResponseError, match="no 'data' list"):
        wt(fake_api).latest("US-CAL-CISO")


def test_wt_missing_credentials():
    with pytest.raises(ProviderConfigError, match="CENAS_WATTTIME_USERNAME"):
        WattTimeProvider(None, "x")


# Replay -----------------------------------------------------------------------
def test_replay_follows_the_clock():
    from cenas.carbon.traces import CarbonTrace

    start = datetime(2021, 1, 1, tzinfo=timezone.utc)
    trace = CarbonTrace("X", start, np.arange(100.0))
    clock = ManualClock(start + timedelta(hours=10, minutes=30))
    p = ReplayProvider(clock, {"X": trace})
    assert p.latest("X").intensity == 10.0 and p.latest("X").time == start + timedelta(hours=10)
    clock.advance(timedelta(hours=5))
    assert p.latest("X").intensity == 15.0
    assert list(p.history("X", start + timedelta(hours=2), start + timedelta(hours=5)).values) == [2.0, 3.0, 4.0]
