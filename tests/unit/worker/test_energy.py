"""Energy meters on this CPU host: real RAPL parsing on a sysfs-shaped folder, real fallbacks."""

from __future__ import annotations

import pytest

from cenas.carbon.accounting import ACCOUNTING_PRESETS, GpuState
from worker.energy import ModelMeter, RaplMeter, Stopwatch, detect_meter

FULL = ACCOUNTING_PRESETS["full"]


def make_rapl(root, values, max_range=1000):
    for i, value in enumerate(values):
        domain = root / f"intel-rapl:{i}"
        domain.mkdir(parents=True, exist_ok=True)
        (domain / "energy_uj").write_text(str(value))
        (domain / "max_energy_range_uj").write_text(str(max_range))
    sub = root / "intel-rapl:0:0"  # a sub-domain: must not be double counted
    sub.mkdir(exist_ok=True)
    (sub / "energy_uj").write_text("999")


def test_rapl_sums_packages_and_unwraps_overflow(tmp_path):
    make_rapl(tmp_path, [100, 200])
    meter = RaplMeter(tmp_path)
    make_rapl(tmp_path, [400, 250])
    assert meter.read_joules() == pytest.approx((300 + 50) / 1e6)
    make_rapl(tmp_path, [50, 260])  # package 0 wrapped at 1000
    assert meter.read_joules() == pytest.approx((300 + 50 + 650 + 10) / 1e6)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_model_meter_integrates_role_power_over_time():
    clock = FakeClock()
    meter = ModelMeter(FULL, GpuState.EVALUATION, clock=clock)
    clock.now = 10.0
    meter.set_state(GpuState.IDLE)
    clock.now = 20.0
    assert meter.read_joules() == pytest.approx(10 * 250 + 10 * 40)


def test_stopwatch_measures_a_stretch():
    clock = FakeClock()
    meter = ModelMeter(FULL, GpuState.SAMPLING, clock=clock)
    with Stopwatch(meter, clock=clock) as sw:
        clock.now = 4.0
    assert sw.reading.joules == pytest.approx(600.0) and sw.reading.seconds == 4.0 and sw.reading.source == "model"


def test_detection_falls_back_without_gpu(tmp_path):
    # This host has no NVIDIA driver: asking for GPU 0 must not fail, only fall back.
    make_rapl(tmp_path, [1])
    assert detect_meter(0, FULL, rapl_root=tmp_path).source == "rapl"
    assert detect_meter(0, FULL, rapl_root=tmp_path / "none").source == "model"
    assert detect_meter(None, FULL, rapl_root=tmp_path / "none").source == "model"


def test_workers_sharing_a_rapl_package_each_read_their_share(tmp_path):
    make_rapl(tmp_path, [0])
    alone, shared = RaplMeter(tmp_path), detect_meter(None, FULL, rapl_root=tmp_path, share=4)
    make_rapl(tmp_path, [800])
    assert shared.source == "rapl" and alone.read_joules() == pytest.approx(800 / 1e6)
    assert shared.read_joules() == pytest.approx(200 / 1e6)  # four virtual GPUs do not count the package four times
    with pytest.raises(ValueError, match="share"):
        RaplMeter(tmp_path, share=0)
