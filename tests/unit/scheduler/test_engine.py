"""Simulator semantics on hand-computable cases: carry-over, accounting, cap, screening."""

from __future__ import annotations

import numpy as np
import pytest

from cenas.carbon.accounting import ACCOUNTING_PRESETS
from cenas.pareto import hypervolume
from scheduler_svc.simulator.allocation import Allocation
from scheduler_svc.simulator.engine import SimulationConfig, Simulator, run_episode
from scheduler_svc.simulator.policies import make_policy

PAPER, FULL = ACCOUNTING_PRESETS["paper"], ACCOUNTING_PRESETS["full"]


class ScriptedProposer:
    """Proposes a fixed sequence of codes, skipping any excluded or already told."""

    def __init__(self, codes):
        self.codes = list(codes)
        self.told: list[int] = []
        self.fits = 0

    def tell(self, codes, values):
        self.told.extend(int(c) for c in codes)

    def fit(self):
        self.fits += 1

    def ask(self, n, *, exclude=np.zeros(0, dtype=np.int64)):
        blocked = set(np.asarray(exclude).tolist()) | set(self.told)
        return np.array([c for c in self.codes if c not in blocked][:n], dtype=np.int64)


def codes_with_cost(problem, low, high, count):
    cost = problem.evaluation_cost_s(np.arange(problem.space.size))
    return np.flatnonzero((cost > low) & (cost < high))[:count].tolist()


def test_interrupted_run_is_charged_what_it_used_and_finishes_next_hour(nb201):
    long_code = codes_with_cost(nb201, 4000, 5000, 1)[0]
    cost = float(nb201.evaluation_cost_s(np.array([long_code]))[0])
    proposer = ScriptedProposer([long_code])
    sim = Simulator(nb201, np.full(3, 100.0), SimulationConfig(gpus=1, hours=3, power=PAPER), proposer=proposer)
    sim.step(Allocation(1, 0), screening=False)
    assert sim.evaluations == [] and len(sim.carry) == 1
    assert sim.rows[-1].carbon_g == pytest.approx(100.0)  # 1 kW x 1 h x 100 g/kWh
    sim.step(Allocation(1, 0), screening=False)
    assert [e.code for e in sim.evaluations] == [long_code]
    assert sim.evaluations[0].finished_hour == pytest.approx(cost / 3600)
    assert sim.rows[-1].carbon_g == pytest.approx(cost / 3600 * 100.0)  # nothing else to train: paper charges busy time only
    assert proposer.fits == 1  # relearned once, at the end of the hour with a new result


def test_half_finished_runs_are_served_first_in_order(nb201):
    longs = codes_with_cost(nb201, 6200, 6900, 2)  # more than 2400 s left each after hour 0
    shorts = codes_with_cost(nb201, 1000, 1200, 5)
    sim = Simulator(nb201, np.full(4, 100.0), SimulationConfig(gpus=2, hours=4, power=PAPER), proposer=ScriptedProposer(longs + shorts))
    sim.step(Allocation(2, 0), screening=False)
    assert [r.code for r in sim.carry._runs] == longs
    sim.step(Allocation(1, 1), screening=False)  # one GPU: finishes the first, resumes the second
    assert [e.code for e in sim.evaluations] == [longs[0]]
    assert [r.code for r in sim.carry._runs] == [longs[1]]
    sim.step(Allocation(2, 0), screening=False)
    assert [e.code for e in sim.evaluations][:2] == [longs[0], longs[1]]


def test_full_accounting_charges_every_state(nb201):
    sim = Simulator(nb201, np.full(2, 200.0), SimulationConfig(gpus=3, hours=2, power=FULL), proposer=ScriptedProposer([]))
    sim.step(Allocation(0, 1, 2), screening=True)
    expected_kwh = (150 + 2 * 40) * 3600 / 3.6e6
    assert sim.rows[-1].energy_kwh == pytest.approx(expected_kwh)
    assert sim.rows[-1].carbon_g == pytest.approx(expected_kwh * 1.58 * 200.0)


def test_screening_fills_queue_at_sampling_cost_and_waiting_gpus_idle(nb201):
    pool = codes_with_cost(nb201, 1000, 4000, 400)
    sim = Simulator(nb201, np.full(2, 100.0), SimulationConfig(gpus=1, hours=2, power=FULL), proposer=ScriptedProposer(pool))
    sim.step(Allocation(0, 1), screening=True)
    assert sim.rows[-1].samples == 3600 // 20
    assert len(sim.queue) == 10  # capacity
    assert sim.rows[-1].energy_kwh == pytest.approx(150 * 3600 / 3.6e6)


def test_vanilla_full_pool_energy_and_no_sampling(nb201):
    result = run_episode(nb201, np.full(5, 300.0), make_policy("vanilla"), SimulationConfig(gpus=4, hours=5, power=FULL), seed=1)
    assert result.rows[-1].samples == 0
    assert result.energy_kwh == pytest.approx(4 * 5 * 0.25)  # always something to train
    codes = [e.code for e in result.evaluations]
    assert len(codes) == len(set(codes))  # each architecture evaluated once


def test_carbon_cap_stops_exactly_at_the_cap(nb201):
    config = SimulationConfig(gpus=8, hours=20, power=FULL, carbon_cap_g=1500.0)
    result = run_episode(nb201, np.full(20, 300.0), make_policy("vanilla"), config, seed=0)
    assert result.stopped_by_cap
    assert result.carbon_g == pytest.approx(1500.0)
    assert len(result.rows) < 21
    assert all(when <= len(result.rows) - 1 for when, _, _ in result.progress)


def test_hourly_rows_are_cumulative_and_match_evaluations(nb201):
    intensities = np.linspace(100, 300, 12)
    result = run_episode(nb201, intensities, make_policy("heuristic"), SimulationConfig(gpus=4, hours=12), seed=3)
    rows = result.rows
    assert [r.hour for r in rows] == list(range(13))
    for a, b in zip(rows, rows[1:]):
        assert b.carbon_g >= a.carbon_g and b.hypervolume >= a.hypervolume and b.evaluations >= a.evaluations
    assert rows[-1].evaluations == len(result.evaluations)
    assert [r.intensity for r in rows[1:]] == pytest.approx(intensities.tolist())
    assert all(r.gpus_evaluation + r.gpus_sampling + r.gpus_idle == 4 for r in rows[1:])


@pytest.mark.parametrize("policy", ["vanilla", "heuristic"])
def test_progress_is_in_the_order_runs_finished_with_the_hypervolume_finished_by_then(nb201, policy):
    """Runs are recorded as they start; a short one started later finishes first, and the
    grams-to-target figures read the progress curve in time order."""
    result = run_episode(nb201, np.linspace(100, 300, 8), make_policy(policy), SimulationConfig(gpus=8, hours=8), seed=0)
    times = [when for when, _, _ in result.progress]
    assert len(times) > 3 and times == sorted(times)
    for when, hv, carbon in result.progress:
        done = np.array([e.values for e in result.evaluations if e.finished_hour <= when + 1e-12])
        assert hv == pytest.approx(hypervolume(done, nb201.ref_point))
    assert [c for _, _, c in result.progress] == sorted(c for _, _, c in result.progress)
    assert result.progress[-1][1] == pytest.approx(result.final_hypervolume)


def test_same_seed_same_episode(nb201):
    config = SimulationConfig(gpus=4, hours=6)
    a = run_episode(nb201, np.full(6, 100.0), make_policy("oneshot"), config, seed=7)
    b = run_episode(nb201, np.full(6, 100.0), make_policy("oneshot"), config, seed=7)
    assert a.to_summary_run() == b.to_summary_run()


def test_allocation_must_use_the_whole_pool(nb201):
    sim = Simulator(nb201, np.full(2, 1.0), SimulationConfig(gpus=4, hours=2))
    with pytest.raises(ValueError, match="uses 3 GPUs; the pool has 4"):
        sim.step(Allocation(1, 1, 1))
    with pytest.raises(ValueError, match="need 5 intensity values"):
        Simulator(nb201, np.full(2, 1.0), SimulationConfig(gpus=4, hours=5))
