"""`/v1/forecasts/{region}`: the latest carbon forecast the forecaster service stored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path

from cenas.db import latest_forecast
from gateway.deps import NAME_PATTERN, GatewayDep, KeyDep
from gateway.routes.searches import AUTH
from gateway import store
from gateway.schemas import ErrorOut, ForecastOut, ForecastRegionsOut

router = APIRouter(tags=["forecasts"])


@router.get("/forecasts", response_model=ForecastRegionsOut, responses=AUTH)
def list_forecast_regions(gateway: GatewayDep, key: KeyDep) -> ForecastRegionsOut:
    """The regions with a stored forecast (what `/forecasts/{region}` can answer)."""
    return ForecastRegionsOut(regions=store.forecast_regions(gateway.engine))


@router.get("/forecasts/{region}", response_model=ForecastOut, responses={**AUTH, 404: {"model": ErrorOut, "description": "no forecast stored for the region"}})
def get_forecast(region: Annotated[str, Path(min_length=1, max_length=64, pattern=NAME_PATTERN)], gateway: GatewayDep, key: KeyDep) -> ForecastOut:
    """The most recently published forecast: issue time, model and hourly points (gCO2eq/kWh)."""
    record = latest_forecast(gateway.engine, region=region)
    if record is None:
        raise HTTPException(404, f"no forecast stored for region {region!r}; is the forecaster service running for it?")
    return ForecastOut.model_validate(record.to_message().model_dump())
