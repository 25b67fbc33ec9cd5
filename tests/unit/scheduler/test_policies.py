import numpy as np
import pytest

from cenas.carbon.accounting import ACCOUNTING_PRESETS
from scheduler_svc.simulator.allocation import Allocation, EpisodeContext, Observation
from scheduler_svc.simulator.policies import UnknownPolicyError, make_policy


def observe(intensity: float, history: list[float], gpus: int = 8) -> Observation:
    return Observation(
        hour=0, hours_total=10, gpus=gpus, intensity=intensity, intensity_history=np.array(history),
        forecast=None, hypervolume_fraction=0.0, hypervolume_gain=0.0, evaluations=0, queued=0,
        carried=0, carbon_g=0.0, energy_kwh=0.0, carbon_cap_g=None,
    )


CONTEXT = EpisodeContext(gpus=8, hours=10, carbon_cap_g=None, max_hypervolume=1.0, seed=0, power=ACCOUNTING_PRESETS["full"])


def test_heuristic_threshold_rule():
    policy = make_policy("heuristic")
    policy.reset(CONTEXT)
    history = [100, 200, 300, 400, 250]
    assert policy.decide(observe(250, history)) == Allocation(7, 1)  # at the median: clean
    assert policy.decide(observe(300, history + [300])) == Allocation(1, 7)  # above: dirty


def test_builtin_policies():
    assert make_policy("vanilla").decide(observe(1, [1])) == Allocation(8, 0)
    assert make_policy("vanilla").screening is False
    assert make_policy("oneshot").decide(observe(1, [1])) == Allocation(1, 7)
    static = make_policy("static:3")
    static.reset(CONTEXT)
    assert static.decide(observe(1, [1])) == Allocation(3, 5) and static.name == "static:3"


@pytest.mark.parametrize(("name", "fragment"), [("greedy", "unknown policy 'greedy'"), ("static:x", "static:K must be a non-negative integer")])
def test_bad_policy_names(name, fragment):
    with pytest.raises(UnknownPolicyError, match=fragment):
        make_policy(name)


def test_static_larger_than_pool_is_refused():
    with pytest.raises(UnknownPolicyError, match="9 evaluation GPUs but the pool has 8"):
        make_policy("static:9").reset(CONTEXT)
