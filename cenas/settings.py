"""One settings object for every process, read from `CENAS_*` environment variables.

Build it once at start-up (`Settings()`), in the CLI or a service's bootstrap, and pass
it down; never read `os.environ` elsewhere.

Secrets may also come from files, one per setting, named like the variable
(`cenas_database_url`, `cenas_electricitymaps_token`, ...; case-insensitive), in the
directory `CENAS_SECRETS_DIR` or, when that is unset, `/run/secrets` if it exists (Docker
and Kubernetes secrets). An environment variable wins over a file of the same name.
Provider credentials and the client's API key are `SecretStr`: they print as `**********`
and are unwrapped with `.get_secret_value()` only where they are sent.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


#: where Docker (`secrets:`) and Kubernetes mount secret files
DEFAULT_SECRETS_DIR = Path("/run/secrets")


def secrets_dir_from_env(environ: dict[str, str] | None = None) -> Path | None:
    """`CENAS_SECRETS_DIR` when set (it must be a directory), else `/run/secrets` if present."""
    environ = os.environ if environ is None else environ
    named = environ.get("CENAS_SECRETS_DIR")
    if named:
        path = Path(named)
        if not path.is_dir():
            raise ValueError(f"CENAS_SECRETS_DIR={named!r} is not a directory")
        return path
    return DEFAULT_SECRETS_DIR if DEFAULT_SECRETS_DIR.is_dir() else None


def hide_password(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def default_data_dir() -> Path:
    """Per-user data directory shared by every `cenas` command (XDG convention)."""
    return Path.home() / ".local" / "share" / "cenas"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CENAS_", extra="ignore")

    def __init__(self, **values) -> None:
        # the secrets directory is itself configurable; pydantic-settings takes it per call
        if "_secrets_dir" not in values:
            values["_secrets_dir"] = secrets_dir_from_env()
        super().__init__(**values)

    data_dir: Path = Field(default_factory=default_data_dir, description="Where the embedded database and caches live.")
    broker_url: str | None = Field(default=None, description="RabbitMQ URL; unset means the embedded default.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; unset means SQLite in data_dir.")
    pool_gpus: int = Field(default=8, ge=1, description="GPUs the worker pool offers; searches that do not fit wait queued.")
    tick_seconds: float = Field(default=0.1, gt=0, description="How often the optimizer and scheduler loops look at the clock.")
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    gateway_url: str = "http://127.0.0.1:8000"
    gateway_max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest request body the gateway accepts (413 above).")
    gateway_discard_body_bytes: int = Field(default=64 * 1024 * 1024, ge=0, description=(
        "Most bytes of a body over the limit the gateway reads and drops before its 413, so a client that "
        "sends the whole body first sees the 413, not a reset (nginx's lingering close)."))
    gateway_discard_body_seconds: float = Field(default=30.0, ge=0, description=(
        "Longest the gateway spends reading and dropping a body over the limit before its 413."))
    gateway_auth_failures_per_minute: int = Field(default=30, ge=1, description="Failed authentications per client IP per minute before 429.")
    api_key: SecretStr | None = Field(default=None, description="Key the client commands (`cenas submit/status/report`) send to the gateway.")
    electricitymaps_token: SecretStr | None = None
    watttime_username: str | None = None
    watttime_password: SecretStr | None = None
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
    forecaster_weather_window_hours: int = Field(default=24, ge=0, le=72, description=(
        "The day-ahead rule: a forecast issued at T may read a weather value for hour h only if h < T + this many "
        "hours (the bundled GFS files do not say when each value was issued). Weather models are trained with it; "
        "the service gives a model weather only when the model's own rule is no longer than this."))

    # live searches (carbon.signal electricitymaps / watttime): wall clock, observed signal
    live_interval_s: float = Field(default=3600.0, ge=1, le=86400, description=(
        "Decision interval of a live search whose spec sets no carbon.interval_s: an hour, the step of Electricity "
        "Maps' signal and of every trace the policies were trained on."))
    live_poll_s: float = Field(default=300.0, ge=0.1, description=(
        "How often the forecaster reads a live zone's intensity (WattTime's MOER moves every 5 minutes); at most a "
        "quarter of the zone's shortest decision interval."))
    live_fallback_intervals: int = Field(default=3, ge=1, description=(
        "Decision intervals without a good reading after which a live search's scheduler stops trusting the last "
        "value and uses the safe policy (one GPU evaluates, the rest sample)."))
    live_probe_timeout_s: float = Field(default=5.0, gt=0, description=(
        "How long the gateway waits for the provider when it checks a live spec's zone and credentials at submit."))

    # the torch task (real training on the workers)
    cifar10_dir: Path | None = Field(default=None, description="Directory of the CIFAR-10 python batches (data_batch_1..5, test_batch); never downloaded.")
    torch_dir: Path | None = Field(default=None, description="Checkpoints of torch searches (supernets, from-scratch runs); unset: data_dir/torch.")
    torch_threads: int = Field(default=1, ge=1, le=256, description="CPU threads per worker process for torch tasks: several "
                               "workers share a CPU host, and oversubscribed threads train many times slower.")

    def secret_values(self) -> list[str]:
        """Every secret this object holds in plain text form: URL passwords (raw and
        percent-decoded), provider credentials, the client's key. Longest first."""
        found: set[str] = set()
        for url in (self.database_url, self.broker_url):
            password = urlsplit(url).password if url else None
            if password:
                found |= {password, unquote(password)}
        for secret in (self.electricitymaps_token, self.watttime_password, self.api_key):
            if secret is not None and secret.get_secret_value():
                found.add(secret.get_secret_value())
        return sorted(found, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret of :meth:`secret_values` replaced by ``***``."""
        for secret in self.secret_values():
            text = text.replace(secret, "***")
        return text

    def torch_checkpoint_dir(self) -> Path:
        return self.torch_dir or Path(self.data_dir) / "torch"

    def forecaster_region_list(self) -> list[str]:
        return [r.strip() for r in self.forecaster_regions.split(",") if r.strip()]
