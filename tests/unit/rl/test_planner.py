"""mpc and oracle: valid allocations, carbon awareness, the cap, determinism, and bench wiring."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

import scheduler_svc.rl  # noqa: F401  registers rl, mpc, oracle
from cenas.carbon import ACCOUNTING_PRESETS, load_region
from scheduler_svc.simulator.allocation import EpisodeContext, Observation
from scheduler_svc.simulator.bench import BenchSetup, episodes
from scheduler_svc.simulator.engine import SimulationConfig
from scheduler_svc.simulator.policies import make_policy
from cenas.search.proposers import RandomProposer


def observe(intensity, forecast, *, gpus=8, hours=24, hour=0, hv=0.0, carbon=0.0, cap=None):
    return Observation(
        hour=hour, hours_total=hours, gpus=gpus, intensity=intensity, intensity_history=np.full(24, 200.0),
        forecast=np.asarray(forecast, dtype=float), hypervolume_fraction=hv, hypervolume_gain=0.0, evaluations=0,
        queued=0, carried=0, carbon_g=carbon, energy_kwh=0.0, carbon_cap_g=cap,
    )


def context(power="full", gpus=8, hours=24, cap=None):
    return EpisodeContext(gpus, hours, cap, 4155.0, 0, ACCOUNTING_PRESETS[power])


@pytest.mark.parametrize("name", ["mpc", "oracle"])
@pytest.mark.parametrize("power", ["full", "paper"])
@pytest.mark.parametrize("gpus", [1, 2, 5, 8, 16])
def test_valid_allocations(name, power, gpus):
    policy = make_policy(name)
    policy.reset(context(power, gpus))
    rng = np.random.default_rng(0)
    for hour in range(0, 24, 5):
        obs = observe(float(rng.uniform(50, 500)), rng.uniform(50, 500, 23 - hour), gpus=gpus, hour=hour, hv=hour / 30)
        allocation = policy.decide(obs)
        assert allocation.total == gpus


def test_waits_for_a_much_cleaner_hour_and_works_in_it():
    policy = make_policy("mpc")
    policy.reset(context("full"))
    dirty_now = policy.decide(observe(900.0, [900.0] * 2 + [30.0] * 21))
    assert dirty_now.evaluation == 0  # three hours of idling are cheaper than working at 30x the intensity
    policy.reset(context("full"))
    clean_now = policy.decide(observe(30.0, [900.0] * 23))
    assert clean_now.evaluation > 0 and clean_now.sampling == clean_now.evaluation


def test_paper_accounting_samples_with_every_spare_gpu():
    policy = make_policy("oracle")
    policy.reset(context("paper"))
    allocation = policy.decide(observe(200.0, [200.0] * 23))
    assert allocation.idle == 0 and allocation.sampling == 8 - allocation.evaluation


def test_exhausted_cap_plans_no_work():
    policy = make_policy("mpc")
    policy.reset(context("full", cap=1000.0))
    allocation = policy.decide(observe(200.0, [200.0] * 23, carbon=999.9, cap=1000.0))
    assert allocation.evaluation == 0


def test_bench_gives_oracle_the_true_future_and_mpc_a_naive_forecast(nb201):
    trace = load_region("US-CAL-CISO")
    start = datetime(2021, 7, 2, 6, tzinfo=timezone.utc)
    setup = BenchSetup(nb201, trace, start, ["mpc", "oracle"], 1, SimulationConfig(gpus=4, hours=3), "full", RandomProposer)
    seen = {}
    import scheduler_svc.rl.planner as planner

    original = planner.PlannerPolicy.decide

    def spy(self, observation):
        seen.setdefault(self.name, observation)
        return original(self, observation)

    planner.PlannerPolicy.decide = spy
    try:
        results = list(episodes(setup))
    finally:
        planner.PlannerPolicy.decide = original
    first = trace.index_of(start)
    assert np.array_equal(seen["oracle"].forecast[:5], trace.values[first + 1 : first + 6])
    assert np.array_equal(seen["mpc"].forecast[:5], trace.values[first - 23 : first - 18])
    assert all(r.rows[-1].hour == 3 for r in results)


def test_deterministic(nb201):
    trace = load_region("DE")
    start = datetime(2022, 3, 1, tzinfo=timezone.utc)
    setup = BenchSetup(nb201, trace, start, ["mpc"], 1, SimulationConfig(gpus=4, hours=6), "full", RandomProposer)
    a, b = list(episodes(setup)), list(episodes(setup))
    assert [r.rows for r in a] == [r.rows for r in b]
