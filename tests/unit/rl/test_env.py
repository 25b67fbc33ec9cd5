"""The gymnasium environment: contract, shapes and bounds, reward sanity, determinism."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from scheduler_svc.rl.actions import ACTIONS, action_to_allocation
from scheduler_svc.rl.env import TINY, SchedulingEnv
from scheduler_svc.rl.features import N_FEATURES

IDLE = ACTIONS.index((0.0, 0.0))
BALANCED = ACTIONS.index((0.5, 0.5))
START = datetime(2021, 2, 1, 6, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def env(nb201):
    return SchedulingEnv(TINY, problem=nb201)


@pytest.mark.filterwarnings("ignore:.*render modes:UserWarning")
def test_check_env(env):
    check_env(env, skip_render_check=True)


def test_reset_and_step_shapes_and_bounds(env):
    obs, info = env.reset(seed=3)
    assert obs.shape == (N_FEATURES,) and obs.dtype == np.float32
    assert env.observation_space.contains(obs)
    assert 2 <= info["gpus"] <= 4 and 6 <= info["hours"] <= 8
    done, steps = False, 0
    while not done:
        obs, reward, done, truncated, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs) and np.isfinite(reward) and not truncated
        steps += 1
    assert steps <= info["hours"]


def run(env, action, **options):
    env.reset(seed=0, options={"region": "US-CAL-CISO", "start": START, "hours": 6, "gpus": 4, "carbon_cap_g": None, **options})
    total, done = 0.0, False
    while not done:
        _, reward, done, _, info = env.step(action)
        total += reward
    return total, info


def test_reward_sign(env):
    idle, info = run(env, IDLE, accounting="full")
    assert idle < 0 and info["hypervolume_fraction"] == 0  # pays idle power, gains nothing
    free, _ = run(env, IDLE, accounting="paper")
    assert free == 0.0  # paper accounting: idle GPUs are free
    work, info = run(env, BALANCED, accounting="full")
    assert info["hypervolume_fraction"] > 0.9 and work > idle  # progress is worth its carbon


def test_same_seed_same_episode(env):
    a = [run(env, BALANCED, accounting="full")[0] for _ in range(2)]
    assert a[0] == a[1]
    obs1, info1 = env.reset(seed=11)
    obs2, info2 = env.reset(seed=11)
    assert np.array_equal(obs1, obs2) and info1 == info2


def test_capped_episode_ends_at_the_cap(env):
    _, info = run(env, BALANCED, accounting="full", carbon_cap_g=500.0)
    assert info["carbon_g"] == pytest.approx(500.0)


@pytest.mark.parametrize("gpus", [1, 2, 3, 8, 16])
def test_every_action_is_a_valid_allocation_for_any_pool(gpus):
    for action in range(len(ACTIONS)):
        allocation = action_to_allocation(action, gpus)
        assert allocation.total == gpus
    assert action_to_allocation(IDLE, gpus).idle == gpus
    with pytest.raises(ValueError, match="action must be in 0..23"):
        action_to_allocation(24, gpus)


@pytest.mark.filterwarnings("ignore:.*render modes:UserWarning")
def test_planner_advice_extends_the_observation_with_the_planners_decision(nb201):
    from dataclasses import replace

    from scheduler_svc.rl.advice import N_ADVISED_FEATURES
    from scheduler_svc.rl.planner import PlannerPolicy

    advised = SchedulingEnv(replace(TINY, planner_advice=True), problem=nb201)
    check_env(advised, skip_render_check=True)
    obs, _ = advised.reset(seed=5, options={"gpus": 4, "accounting": "full"})
    assert obs.shape == (N_ADVISED_FEATURES,)
    planner = PlannerPolicy()
    planner.reset(advised.context)
    expected = planner.decide(advised.sim.observe())
    assert obs[N_FEATURES] == pytest.approx(expected.evaluation / 4) and obs[N_FEATURES + 1] == pytest.approx(expected.sampling / 4)
    plain = SchedulingEnv(TINY, problem=nb201).reset(seed=5, options={"gpus": 4, "accounting": "full"})[0]
    assert np.array_equal(obs[:N_FEATURES], plain)  # the advice is appended, nothing else changes
