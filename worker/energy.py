"""Energy metering for one GPU worker: NVML when a GPU is there, else RAPL, else a model.

Every meter exposes a monotonic joule counter; a task's energy is the difference of two
readings, so the same code meters a task, an idle stretch or a whole run. The source is
recorded with each evaluation, because measured and modelled joules are not the same
evidence.

* `nvml`: the GPU's total-energy counter (`nvmlDeviceGetTotalEnergyConsumption`, mJ since
  driver load; Volta and newer).
* `rapl`: the CPU package counter under `/sys/class/powercap/intel-rapl:*` (µJ, wraps at
  `max_energy_range_uj`): what a CPU-only host really draws. The package is shared by
  every worker process on the host, so each reads its equal share (`share` = how many
  workers the host runs); otherwise N virtual GPUs would each count the same joules.
* `model`: watts of the worker's current role (`cenas.carbon.accounting.PowerModel`) x
  elapsed wall time: the documented fallback when nothing can be read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cenas.carbon.accounting import GpuState, PowerModel

log = logging.getLogger(__name__)

RAPL_ROOT = Path("/sys/class/powercap")


class EnergyMeter(Protocol):
    source: str

    def read_joules(self) -> float:
        """A monotonic counter in joules (its zero is arbitrary)."""
        ...


class NvmlMeter:
    source = "nvml"

    def __init__(self, device_index: int) -> None:
        import pynvml  # optional at run time: only GPU hosts have the library behind it

        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(device_index)
        self.read_joules()  # fails here, not mid-task, on GPUs without the counter

    def read_joules(self) -> float:
        return self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle) / 1000.0


class RaplMeter:
    """Sum of the top-level RAPL package domains, unwrapped across counter overflows."""

    source = "rapl"

    def __init__(self, root: Path = RAPL_ROOT, share: int = 1) -> None:
        if share < 1:
            raise ValueError(f"share must be >= 1, got {share}")
        self._share = share
        self._domains = sorted(p for p in root.glob("intel-rapl:*") if p.name.count(":") == 1)
        if not self._domains:
            raise OSError(f"no RAPL package domains under {root}")
        self._ranges = [int((d / "max_energy_range_uj").read_text()) for d in self._domains]
        self._last = self._raw()
        self._total_uj = 0

    def _raw(self) -> list[int]:
        return [int((d / "energy_uj").read_text()) for d in self._domains]

    def read_joules(self) -> float:
        now = self._raw()
        for i, (before, after) in enumerate(zip(self._last, now)):
            self._total_uj += after - before if after >= before else after + self._ranges[i] - before
        self._last = now
        return self._total_uj / 1e6 / self._share


class ModelMeter:
    """Integrates the power model over wall time; `state` follows the worker's role."""

    source = "model"

    def __init__(self, power: PowerModel, state: GpuState = GpuState.IDLE, clock: Callable[[], float] = time.monotonic) -> None:
        self._power = power
        self._clock = clock
        self._state = state
        self._since = clock()
        self._joules = 0.0

    def set_state(self, state: GpuState) -> None:
        self.read_joules()
        self._state = state

    def read_joules(self) -> float:
        now = self._clock()
        self._joules += self._power.watts(self._state) * (now - self._since)
        self._since = now
        return self._joules


def detect_meter(device_index: int | None, power: PowerModel, *, rapl_root: Path = RAPL_ROOT, share: int = 1) -> EnergyMeter:
    """The best meter this host offers: NVML for a pinned GPU, else RAPL (this worker's
    share of the package: `share` workers run on the host), else the model."""
    if device_index is not None:
        try:
            return NvmlMeter(device_index)
        except Exception as exc:  # library missing, no driver, no such device, no counter
            log.info("NVML energy unavailable for GPU %s (%s); trying RAPL", device_index, exc)
    try:
        return RaplMeter(rapl_root, share=share)
    except (OSError, ValueError) as exc:
        log.info("RAPL unavailable (%s); using the power model", exc)
    return ModelMeter(power)


@dataclass(frozen=True)
class Reading:
    joules: float
    seconds: float
    source: str


class Stopwatch:
    """Measures the joules and seconds of one stretch of work: `with Stopwatch(meter) as sw:`."""

    def __init__(self, meter: EnergyMeter, clock: Callable[[], float] = time.monotonic) -> None:
        self._meter = meter
        self._clock = clock
        self.reading: Reading | None = None

    def __enter__(self) -> Stopwatch:
        self._j0, self._t0 = self._meter.read_joules(), self._clock()
        return self

    def __exit__(self, *exc: object) -> None:
        self.reading = Reading(self._meter.read_joules() - self._j0, self._clock() - self._t0, self._meter.source)
