"""The rl policy: lazy loading, clear errors for the service's fallback, shipped file."""

from __future__ import annotations

import numpy as np
import pytest

import scheduler_svc.rl  # noqa: F401
from cenas.carbon import ACCOUNTING_PRESETS
from cenas.errors import CenasError
from scheduler_svc.rl.policy import DEFAULT_POLICY_PATH, PolicyLoadError, RLPolicy
from scheduler_svc.simulator.allocation import EpisodeContext, Observation
from scheduler_svc.simulator.policies import make_policy

CONTEXT = EpisodeContext(8, 80, None, 4155.0, 0, ACCOUNTING_PRESETS["full"])
OBS = Observation(
    hour=0, hours_total=80, gpus=8, intensity=250.0, intensity_history=np.full(24, 240.0),
    forecast=np.linspace(100, 300, 72), hypervolume_fraction=0.0, hypervolume_gain=0.0, evaluations=0,
    queued=0, carried=0, carbon_g=0.0, energy_kwh=0.0, carbon_cap_g=None,
)


def test_construction_is_lazy_and_missing_file_is_a_clear_error(tmp_path):
    policy = RLPolicy(tmp_path / "nope.zip")  # nothing loaded yet
    with pytest.raises(PolicyLoadError, match="nope.zip not found; train one with `cenas scheduler train`"):
        policy.reset(CONTEXT)
    assert issubclass(PolicyLoadError, CenasError)


def test_unloadable_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(PolicyLoadError, match="cannot load RL policy file"):
        RLPolicy(bad).reset(CONTEXT)


def test_policy_trained_for_other_features_is_refused(tmp_path):
    import gymnasium as gym
    from stable_baselines3 import PPO

    env = gym.make("CartPole-v1")
    path = tmp_path / "cartpole.zip"
    PPO("MlpPolicy", env, n_steps=64, batch_size=32, device="cpu").save(path)
    with pytest.raises(PolicyLoadError, match="retrain with `cenas scheduler train`"):
        RLPolicy(path).reset(CONTEXT)


@pytest.mark.skipif(not DEFAULT_POLICY_PATH.is_file(), reason="no shipped policy file")
def test_shipped_policy_loads_and_decides_deterministically():
    from scheduler_svc.rl.advice import N_ADVISED_FEATURES

    policy = make_policy("rl")
    policy.reset(CONTEXT)
    assert policy.load().observation_space.shape == (N_ADVISED_FEATURES,)  # full accounting's file takes the planner's advice
    first = policy.decide(OBS)
    assert first.total == 8 and policy.decide(OBS) == first


def test_shipped_policy_follows_the_search_accounting(tmp_path):
    """Free sampling (the paper's accounting) gets its own shipped file; an explicit path
    wins in every regime."""
    from dataclasses import replace

    from cenas.carbon.accounting import ACCOUNTING_PRESETS
    from scheduler_svc.rl.policy import FREE_SAMPLING_POLICY_PATH, shipped_policy_path

    assert shipped_policy_path(ACCOUNTING_PRESETS["paper"]) == FREE_SAMPLING_POLICY_PATH
    assert shipped_policy_path(ACCOUNTING_PRESETS["full"]) == DEFAULT_POLICY_PATH
    assert shipped_policy_path(None) == DEFAULT_POLICY_PATH
    policy = make_policy("rl")
    policy.reset(replace(CONTEXT, power=ACCOUNTING_PRESETS["paper"]))
    assert policy.path == FREE_SAMPLING_POLICY_PATH and policy.decide(OBS).total == 8
    from scheduler_svc.rl.policy import policy_kind

    assert policy_kind(policy.load()) == "planner" and policy.explain()["envelope_budget_g"] > 0  # inside the carbon envelope
    policy.reset(CONTEXT)  # the same instance reused for a full-accounting search
    assert policy.path == DEFAULT_POLICY_PATH and policy.decide(OBS).total == 8
    explicit = RLPolicy(tmp_path / "mine.zip")
    with pytest.raises(PolicyLoadError, match="mine.zip not found"):
        explicit.reset(replace(CONTEXT, power=ACCOUNTING_PRESETS["paper"]))
