"""The forecasts table: every published carbon forecast, for the gateway's
``GET /v1/forecasts/{region}`` (latest per region)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import JSON, Column, DateTime, Engine, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, select

from cenas.contracts import CarbonForecast, ForecastPoint


class ForecastBase(SQLModel):
    region: str = Field(index=True)
    issued_at: datetime = Field(sa_type=DateTime(timezone=True))
    published_at: datetime = Field(sa_type=DateTime(timezone=True))
    model: str
    signal: str
    actual_intensity: float | None = None
    actual_time: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    stale: bool = False
    points: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class ForecastRecord(ForecastBase, table=True):
    """One forecast as published. (region, issued_at, model, stale) is unique, so saving
    the same message twice (at-least-once delivery) is a no-op."""

    __tablename__ = "forecasts"
    __table_args__ = (UniqueConstraint("region", "issued_at", "model", "stale", name="uq_forecast"),)
    id: int | None = Field(default=None, primary_key=True)

    def to_message(self) -> CarbonForecast:
        return CarbonForecast(
            region=self.region, issued_at=_aware(self.issued_at), published_at=_aware(self.published_at),
            actual_intensity=self.actual_intensity,
            actual_time=None if self.actual_time is None else _aware(self.actual_time), model=self.model, signal=self.signal, stale=self.stale,
            points=[ForecastPoint.model_validate(p) for p in self.points],
        )


def _aware(when: datetime) -> datetime:
    from datetime import timezone

    return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)


def save_forecast(engine: Engine, *, forecast: CarbonForecast) -> ForecastRecord:
    """Insert ``forecast`` unless the same (region, issued_at, model, stale) row exists."""
    with Session(engine) as session:
        existing = session.exec(
            select(ForecastRecord).where(
                ForecastRecord.region == forecast.region, ForecastRecord.issued_at == forecast.issued_at,
                ForecastRecord.model == forecast.model, ForecastRecord.stale == forecast.stale,
            )
        ).first()
        if existing is not None:
            return existing
        record = ForecastRecord(
            region=forecast.region, issued_at=forecast.issued_at, published_at=forecast.published_at,
            model=forecast.model, signal=forecast.signal, actual_intensity=forecast.actual_intensity,
            actual_time=forecast.actual_time,
            stale=forecast.stale, points=[p.model_dump(mode="json") for p in forecast.points],
        )
        session.add(record)
        session.commit()
        session.refresh(record)
        return record


def latest_forecast(engine: Engine, *, region: str) -> ForecastRecord | None:
    """The most recently published forecast for ``region``, or None."""
    with Session(engine) as session:
        return session.exec(
            select(ForecastRecord).where(ForecastRecord.region == region)
            .order_by(ForecastRecord.published_at.desc(), ForecastRecord.id.desc())  # type: ignore[union-attr]
        ).first()


def forecast_as_of(engine: Engine, *, region: str, instant: datetime, max_age: timedelta,
                   signal: str | None = None) -> ForecastRecord | None:
    """The newest fresh forecast for ``region`` issued in ``[instant - max_age, instant]``.

    What a search whose trace clock reads ``instant`` may use: never one issued in its
    future (replayed searches run at other trace times than the forecaster's own clock).
    """
    instant = _aware(instant)
    query = select(ForecastRecord).where(
        ForecastRecord.region == region, ForecastRecord.stale == False,  # noqa: E712
        ForecastRecord.issued_at <= instant, ForecastRecord.issued_at >= instant - max_age,
    )
    if signal is not None:  # a live search reads its own provider's forecasts
        query = query.where(ForecastRecord.signal == signal)
    with Session(engine) as session:
        return session.exec(
            query.order_by(ForecastRecord.issued_at.desc(), ForecastRecord.published_at.desc(),  # type: ignore[union-attr]
                           ForecastRecord.id.desc())  # type: ignore[union-attr]
        ).first()
