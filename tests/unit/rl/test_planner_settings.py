"""`planner`-kind policies: the settings actions, the relative features, the carbon
envelope that bounds what a policy may spend beyond its planner."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from cenas.carbon import ACCOUNTING_PRESETS
from scheduler_svc.rl.env import TINY, EnvConfig, SchedulingEnv
from scheduler_svc.rl.guard import CarbonEnvelope, planned_carbon_g, pool_hour_g
from scheduler_svc.rl.planner import PlannerPolicy
from scheduler_svc.rl.relative_features import N_RELATIVE_FEATURES, RELATIVE_FEATURES, encode_relative
from scheduler_svc.rl.settings import DEFAULT_SETTING, PLANNER_SETTINGS, PlannerSetting, SettingsActor
from scheduler_svc.simulator.allocation import Allocation, EpisodeContext, Observation

PAPER, FULL = ACCOUNTING_PRESETS["paper"], ACCOUNTING_PRESETS["full"]


def observation(**overrides) -> Observation:
    base = dict(
        hour=0, hours_total=80, gpus=8, intensity=250.0, intensity_history=np.linspace(200, 300, 24),
        forecast=100 + 100 * np.sin(np.arange(72) / 4.0) ** 2, hypervolume_fraction=0.9, hypervolume_gain=0.01,
        evaluations=10, queued=10, carried=0, carbon_g=500.0, energy_kwh=2.0, carbon_cap_g=None,
    )
    return Observation(**(base | overrides))


def context(power=FULL, gpus=8) -> EpisodeContext:
    return EpisodeContext(gpus, 80, None, 4155.0, 0, power)


def test_settings_cover_caps_and_prices_and_the_default_is_the_plain_planner():
    assert len(PLANNER_SETTINGS) == 12 and PLANNER_SETTINGS[DEFAULT_SETTING] == PlannerSetting("all", 1.0)
    assert [PlannerSetting(c, 1.0).max_units(8) for c in ("1", "2", "half", "all")] == [1, 2, 4, 8]
    assert PlannerSetting("2", 1.0).max_units(1) == 1


@pytest.mark.parametrize("power", [PAPER, FULL])
def test_the_default_action_is_the_planners_own_decision(power):
    obs = observation()
    actor = SettingsActor()
    actor.reset(context(power))
    actor.observe(obs)
    planner = PlannerPolicy()
    planner.reset(context(power))
    assert actor.act(obs, DEFAULT_SETTING) == planner.decide(obs)


def test_a_concurrency_cap_of_one_never_evaluates_more_than_one_gpu():
    obs = observation(intensity=50.0)  # clean now: the planner wants to work
    actor = SettingsActor(guarded=False)
    actor.reset(context(PAPER))
    actor.observe(obs)
    capped = actor.act(obs, PLANNER_SETTINGS.index(PlannerSetting("1", 0.5)))
    assert capped.evaluation == 1 and capped.total == 8
    assert actor.act(obs, PLANNER_SETTINGS.index(PlannerSetting("all", 0.5))).evaluation > 1


def test_act_needs_observe_first_and_a_valid_action():
    actor = SettingsActor()
    actor.reset(context())
    with pytest.raises(RuntimeError, match="observe"):
        actor.act(observation(), 0)
    actor.observe(observation())
    with pytest.raises(ValueError, match="action must be in 0..11"):
        actor.act(observation(), 12)


def test_relative_features_read_a_rescaled_grid_the_same_way():
    obs = observation()
    scaled = replace(obs, intensity=obs.intensity * 3.7, intensity_history=obs.intensity_history * 3.7,
                     forecast=obs.forecast * 3.7, carbon_g=obs.carbon_g * 3.7)
    a = encode_relative(obs, context(), 0.5, 0.25)
    b = encode_relative(scaled, context(), 0.5, 0.25)
    assert a.shape == (N_RELATIVE_FEATURES,) and len(RELATIVE_FEATURES) == N_RELATIVE_FEATURES
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert ((a >= 0) & (a <= 4)).all()
    placed = dict(zip(RELATIVE_FEATURES, a))
    assert placed["forecast_1h_in_range"] == 0.0  # the cleanest hour in sight
    assert 0 < placed["forecast_4h_in_range"] < 1 and placed["sampling_power"] == pytest.approx(0.6)


def test_the_envelope_admits_within_budget_banks_savings_and_overrides_beyond():
    envelope = CarbonEnvelope(FULL, budget_g=100.0)
    cheap, planner, greedy = Allocation(0, 0, 8), Allocation(2, 2, 4), Allocation(8, 0, 0)
    one_hour_extra = planned_carbon_g(greedy, FULL, 200.0) - planned_carbon_g(planner, FULL, 200.0)
    assert one_hour_extra > 100.0
    assert envelope.admit(greedy, planner, 200.0) == planner and envelope.overrides == 1  # would exceed the budget
    for _ in range(3):
        assert envelope.admit(cheap, planner, 200.0) == cheap  # saving banks
    assert envelope.excess_g < 0
    assert envelope.admit(greedy, planner, 200.0) == greedy  # the bank pays for it
    with pytest.raises(ValueError):
        CarbonEnvelope(FULL, budget_g=-1.0)


@pytest.mark.parametrize("accounting", ["full", "paper"])
def test_a_runaway_policy_spends_at_most_the_planners_allocations_plus_the_budget(nb201, monkeypatch, accounting):
    """The guarantee users get: whatever the network picks (here always the most eager
    setting), its planned carbon stays within the planner's on the same hours + budget."""
    hours: list[tuple[float, float, float]] = []  # (policy asked, ran, planner) grams per hour
    admit = CarbonEnvelope.admit

    def spy(self, chosen, planner, intensity):
        ran = admit(self, chosen, planner, intensity)
        hours.append(tuple(planned_carbon_g(a, self.power, intensity) for a in (chosen, ran, planner)))
        return ran

    monkeypatch.setattr(CarbonEnvelope, "admit", spy)
    env = SchedulingEnv(replace(TINY, actions="planner", hours=(48, 48), gpus=(8, 8)), problem=nb201)
    env.reset(seed=5, options={"accounting": accounting, "carbon_cap_g": None})
    eager = PLANNER_SETTINGS.index(PlannerSetting("all", 0.5))
    done = False
    while not done:
        _, _, done, _, _ = env.step(eager)
    asked, ran, planner = (sum(h[i] for h in hours) for i in range(3))
    envelope = env.actor.envelope
    assert len(hours) == 48 and envelope.budget_g > 0
    assert ran <= planner + envelope.budget_g + 1e-6
    if asked > planner + envelope.budget_g:  # the eager policy would have run away: the envelope stopped it
        assert envelope.overrides > 0 and ran < asked


def test_planner_kind_environment_and_its_config_checks(nb201):
    env = SchedulingEnv(replace(TINY, actions="planner"), problem=nb201)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (N_RELATIVE_FEATURES,) and env.action_space.n == len(PLANNER_SETTINGS)
    obs, reward, *_ = env.step(DEFAULT_SETTING)
    assert np.isfinite(reward) and obs.shape == (N_RELATIVE_FEATURES,)
    with pytest.raises(ValueError, match="actions must be"):
        EnvConfig(actions="gpus")
    with pytest.raises(ValueError, match="planner_advice is for"):
        EnvConfig(actions="planner", planner_advice=True)
    with pytest.raises(ValueError, match="synthetic_probability"):
        EnvConfig(synthetic_probability=1.5)


@pytest.mark.parametrize("grid", ["synthetic", "randomised"])
def test_episodes_on_synthetic_and_randomised_grids_draw_seeds_below_the_test_grids(nb201, grid):
    from cenas.carbon.synthetic import TEST_SEED_BASE

    env = SchedulingEnv(replace(TINY, actions="planner", regions=("US-CAL-CISO", "DE")), problem=nb201)
    for seed in range(5):
        _, info = env.reset(seed=seed, options={"grid": grid})
        name = info["region"]
        assert (name.startswith("synthetic/") if grid == "synthetic" else "~randomised@" in name)
        assert int(name.rpartition("@")[2]) < TEST_SEED_BASE
        assert (env.episode["trace"].values > 0).all()


def test_a_planner_kind_policy_explains_its_setting_and_the_envelope(tmp_path, nb201):
    """What the scheduler service stores with each decision: the planner setting the
    network chose and how much of the envelope it has used."""
    from stable_baselines3 import PPO

    from scheduler_svc.rl.policy import RLPolicy

    env = SchedulingEnv(replace(TINY, actions="planner"), problem=nb201)
    PPO("MlpPolicy", env, n_steps=8, batch_size=8, device="cpu").save(tmp_path / "p.zip")
    policy = RLPolicy(tmp_path / "p.zip")
    assert policy.explain() == {}
    policy.reset(context(FULL))
    allocation = policy.decide(observation())
    facts = policy.explain()
    assert allocation.total == 8
    assert facts["planner_max_units"] in (1, 2, 4) and facts["planner_price_scale"] in (0.5, 1.0, 2.0)
    assert facts["envelope_budget_g"] > 0 and facts["envelope_overrides"] >= 0 and facts["envelope_overrode"] in (0, 1)
    from cenas.contracts import ScheduleDecision

    # the decision message's inputs are numbers: what explain() gives must pass its contract
    ScheduleDecision.model_validate({**_decision_fields(), "inputs": facts})


def _decision_fields() -> dict:
    from datetime import datetime, timezone

    return dict(search_id="s", interval=0, valid_from=datetime(2023, 1, 1, tzinfo=timezone.utc), gpus_evaluation=1,
                gpus_sampling=1, gpus_idle=2, policy="rl", fallback=None, intensity=100.0, forecast=[], stale=False)
