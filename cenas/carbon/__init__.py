"""Carbon intensity: hourly traces (bundled or user files) and energy-to-carbon accounting."""

from cenas.carbon.accounting import ACCOUNTING_PRESETS, GpuState, PowerModel, accounting_preset
from cenas.carbon.traces import (
    BUNDLED_REGIONS,
    CarbonTrace,
    bundled_trace_path,
    load_region,
    load_trace,
)

__all__ = [
    "ACCOUNTING_PRESETS",
    "BUNDLED_REGIONS",
    "CarbonTrace",
    "GpuState",
    "PowerModel",
    "accounting_preset",
    "bundled_trace_path",
    "load_region",
    "load_trace",
]
