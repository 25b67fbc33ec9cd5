import pytest

from cenas.carbon.accounting import ACCOUNTING_PRESETS, GpuState, PowerModel, accounting_preset


def test_paper_preset_is_one_kilowatt_per_evaluating_gpu():
    paper = accounting_preset("paper")
    # one GPU-hour of evaluation at 300 g/kWh = 1 kWh -> 300 g
    assert paper.energy_kwh(GpuState.EVALUATION, 3600) == pytest.approx(1.0)
    assert paper.carbon_g(1.0, 300.0) == pytest.approx(300.0)
    assert paper.energy_kwh(GpuState.SAMPLING, 3600) == 0.0
    assert paper.energy_kwh(GpuState.IDLE, 3600) == 0.0


def test_full_preset_counts_every_state_and_pue():
    full = ACCOUNTING_PRESETS["full"]
    assert full.energy_kwh(GpuState.EVALUATION, 3600) == pytest.approx(0.25)
    assert full.energy_kwh(GpuState.SAMPLING, 3600) == pytest.approx(0.15)
    assert full.energy_kwh(GpuState.IDLE, 3600) == pytest.approx(0.04)
    assert full.carbon_g(0.25, 400.0) == pytest.approx(0.25 * 1.58 * 400.0)


def test_power_model_validation_quotes_bad_value():
    with pytest.raises(ValueError, match="idle_w must be >= 0, got -1"):
        PowerModel(evaluation_w=1, sampling_w=1, idle_w=-1)
    with pytest.raises(ValueError, match="pue must be >= 1, got 0.5"):
        PowerModel(evaluation_w=1, sampling_w=1, idle_w=1, pue=0.5)
    with pytest.raises(ValueError, match="unknown accounting preset 'cheap'"):
        accounting_preset("cheap")
