"""One settings object for every process, read from `CENAS_*` environment variables.

Build it once at start-up (`Settings()`), in the CLI or a service's bootstrap, and pass
it down; never read `os.environ` elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """Per-user data directory shared by every `cenas` command (XDG convention)."""
    return Path.home() / ".local" / "share" / "cenas"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CENAS_", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="Where the embedded database and caches live.")
    broker_url: str | None = Field(default=None, description="RabbitMQ URL; unset means the embedded default.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; unset means SQLite in data_dir.")
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    gateway_url: str = "http://127.0.0.1:8000"
    electricitymaps_token: str | None = None
    watttime_username: str | None = None
    watttime_password: str | None = None
