"""One settings object for every process, read from `CENAS_*` environment variables.

Build it once at start-up (`Settings()`), in the CLI or a service's bootstrap, and pass
it down; never read `os.environ` elsewhere.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

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
    pool_gpus: int = Field(default=8, ge=1, description="GPUs the worker pool offers; searches that do not fit wait queued.")
    tick_seconds: float = Field(default=0.1, gt=0, description="How often the optimizer and scheduler loops look at the clock.")
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    gateway_url: str = "http://127.0.0.1:8000"
    gateway_max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest request body the gateway accepts (413 above).")
    gateway_auth_failures_per_minute: int = Field(default=30, ge=1, description="Failed authentications per client IP per minute before 429.")
    api_key: str | None = Field(default=None, description="Key the client commands (`cenas submit/status/report`) send to the gateway.")
    electricitymaps_token: str | None = None
    watttime_username: str | None = None
    watttime_password: str | None = None
    electricitymaps_url: str = Field(default="https://api.electricitymap.org", description="Electricity Maps API base URL.")
    watttime_url: str = Field(default="https://api.watttime.org", description="WattTime API base URL.")

    # carbon signal and the forecaster service
    carbon_signal: Literal["replay", "electricitymaps", "watttime"] = Field(
        default="replay", description="Where the forecaster reads actual intensity.")
    replay_start: datetime = Field(default=datetime(2021, 7, 2, 6, tzinfo=timezone.utc),
                                   description="Trace time at which a replay clock starts.")
    replay_seconds_per_hour: float = Field(default=2.0, gt=0, description="Real seconds per replayed trace hour.")
    forecaster_regions: str = Field(default="US-CAL-CISO,US-MIDA-PJM,DE,US-TEX-ERCO,GB",
                                    description="Comma-separated regions the forecaster publishes.")
    forecaster_interval_hours: float = Field(default=1.0, gt=0, description="Publish every this many clock hours.")
    forecaster_model_dir: Path | None = Field(default=None, description="Directory of <region>/model.json models; unset: the shipped ones.")

    # the torch task (real training on the workers)
    cifar10_dir: Path | None = Field(default=None, description="Directory of the CIFAR-10 python batches (data_batch_1..5, test_batch); never downloaded.")
    torch_dir: Path | None = Field(default=None, description="Checkpoints of torch searches (supernets, from-scratch runs); unset: data_dir/torch.")

    def torch_checkpoint_dir(self) -> Path:
        return self.torch_dir or Path(self.data_dir) / "torch"

    def forecaster_region_list(self) -> list[str]:
        return [r.strip() for r in self.forecaster_regions.split(",") if r.strip()]
