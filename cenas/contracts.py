"""Versioned message models carried on the bus (pydantic v2).

Every message has a ``schema_version``; a consumer refuses a major version it does not
know (the bus dead-letters it). Add fields with defaults for minor changes; bump
``SCHEMA_VERSION``'s major part for incompatible ones.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

SCHEMA_VERSION = "1.0"


class Message(BaseModel):
    """Base of every bus message; subclasses set ``kind`` and ``routing_prefix``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    routing_prefix: ClassVar[str] = ""

    schema_version: str = SCHEMA_VERSION

    @field_validator("schema_version")
    @classmethod
    def _known_major(cls, value: str) -> str:
        if value.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ValueError(f"unsupported schema_version {value!r}; this build reads {SCHEMA_VERSION}")
        return value


class ForecastPoint(BaseModel):
    """One forecast hour: its start, the point forecast and optional quantiles (gCO2eq/kWh)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    time: AwareDatetime
    intensity: float = Field(ge=0)
    p10: float | None = None
    p90: float | None = None


class CarbonForecast(Message):
    """``carbon.forecast.<region>``: the actual intensity now and the next hourly forecasts.

    ``stale`` is true when the provider could not be reached and this repeats the last
    good forecast; ``issued_at`` then stays the original issue time and ``published_at``
    says when it was sent.
    """

    routing_prefix: ClassVar[str] = "carbon.forecast"
    kind: Literal["carbon.forecast"] = "carbon.forecast"
    region: str = Field(min_length=1)
    issued_at: AwareDatetime
    published_at: AwareDatetime
    actual_intensity: float | None = Field(default=None, ge=0)
    actual_time: AwareDatetime | None = None
    model: str
    signal: str = Field(description="the provider the actual value came from: replay, electricitymaps, watttime")
    points: list[ForecastPoint]
    stale: bool = False

    @property
    def routing_key(self) -> str:
        return f"{self.routing_prefix}.{self.region}"

    @field_validator("issued_at", "published_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(timezone.utc)


#: Routing-key prefix -> message model, for consumers that decode by key.
REGISTRY: dict[str, type[Message]] = {CarbonForecast.routing_prefix: CarbonForecast}


def model_for_routing_key(key: str) -> type[Message] | None:
    """The message model for a routing key (longest registered prefix), or None."""
    best = None
    for prefix, model in REGISTRY.items():
        if (key == prefix or key.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, model)
    return best[1] if best else None
