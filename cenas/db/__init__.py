"""One path to the database: an engine built from settings, and the shared tables.

``CENAS_DATABASE_URL`` when set (PostgreSQL in compose), else a SQLite file in the
settings' data directory. Tables are created with ``create_all`` for now; migrations come
with the runtime issue.
"""

from cenas.db.engine import SERVICE_START_WAIT_S, make_engine, sqlite_url
from cenas.db.forecasts import ForecastRecord, forecast_as_of, latest_forecast, save_forecast
from cenas.db import readings as _readings  # noqa: F401  (registers the live-signal tables)
from cenas.db import baselines as _baselines  # noqa: F401  (registers the vanilla-baseline table)

__all__ = ["SERVICE_START_WAIT_S", "make_engine", "sqlite_url", "ForecastRecord", "save_forecast", "latest_forecast", "forecast_as_of"]
