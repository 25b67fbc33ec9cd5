"""Energy and carbon accounting: energy per GPU state x hourly intensity x PUE.

Two presets, chosen per run:

* `paper` reproduces the CE-NAS released simulator: an evaluating GPU draws 1 kW, nothing
  else is counted (sampling and idle GPUs are free, PUE 1). It flatters carbon-aware
  policies that move work onto sampling GPUs, so it is for comparability only.
* `full` (the default) charges every GPU state. Defaults, for an NVIDIA V100-SXM2 class
  GPU, the card the paper's experiments used:
  - evaluation (training from scratch) 250 W: the V100-SXM2 board power limit is 300 W
    (NVIDIA Tesla V100 datasheet); sustained training of small CNNs runs below the limit,
    we take about 85 % of it;
  - sampling (supernet inference and BN recalibration) 150 W: half the limit, inference at
    moderate batch keeps the SMs less busy than backward passes;
  - idle (allocated, no work) 40 W: the order of a V100's idle draw as read by nvidia-smi;
  - PUE 1.58: the average data-centre power usage effectiveness in the Uptime Institute
    Global Data Center Survey 2023.
  Measured energy (NVML on GPU workers) replaces the model wherever it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

JOULES_PER_KWH = 3.6e6


class GpuState(str, Enum):
    EVALUATION = "evaluation"
    SAMPLING = "sampling"
    IDLE = "idle"


@dataclass(frozen=True)
class PowerModel:
    """Watts drawn by one GPU in each state, and the facility overhead (PUE)."""

    evaluation_w: float
    sampling_w: float
    idle_w: float
    pue: float = 1.0
    name: str = "custom"

    def __post_init__(self) -> None:
        for label, watts in (("evaluation_w", self.evaluation_w), ("sampling_w", self.sampling_w), ("idle_w", self.idle_w)):
            if watts < 0:
                raise ValueError(f"{label} must be >= 0, got {watts}")
        if self.pue < 1:
            raise ValueError(f"pue must be >= 1, got {self.pue}")

    def watts(self, state: GpuState) -> float:
        return {GpuState.EVALUATION: self.evaluation_w, GpuState.SAMPLING: self.sampling_w, GpuState.IDLE: self.idle_w}[state]

    def energy_kwh(self, state: GpuState, seconds: float) -> float:
        """GPU (IT) energy of `seconds` in `state`, before PUE."""
        return self.watts(state) * seconds / JOULES_PER_KWH

    def carbon_g(self, energy_kwh: float, intensity_g_per_kwh: float) -> float:
        """Grams of CO2eq for IT energy drawn at `intensity`, the facility overhead included."""
        return energy_kwh * self.pue * intensity_g_per_kwh


ACCOUNTING_PRESETS: dict[str, PowerModel] = {
    "paper": PowerModel(evaluation_w=1000.0, sampling_w=0.0, idle_w=0.0, pue=1.0, name="paper"),
    "full": PowerModel(evaluation_w=250.0, sampling_w=150.0, idle_w=40.0, pue=1.58, name="full"),
}


def accounting_preset(name: str) -> PowerModel:
    try:
        return ACCOUNTING_PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown accounting preset {name!r}; choose one of {', '.join(ACCOUNTING_PRESETS)}") from None
