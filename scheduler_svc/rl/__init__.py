"""The learned and planned allocation policies: `rl` (PPO, shipped), `mpc` and `oracle`.

Importing this package registers them with `scheduler_svc.simulator.policies`; nothing
heavy is imported here (the RL policy loads stable-baselines3 and its file lazily; the
gymnasium environment lives in `scheduler_svc.rl.env`, imported by training only).
"""

from __future__ import annotations

from scheduler_svc.rl.planner import OraclePolicy, PlannerPolicy
from scheduler_svc.rl.policy import DEFAULT_POLICY_PATH, PolicyLoadError, RLPolicy
from scheduler_svc.simulator.policies import register_policy

register_policy("rl", RLPolicy)
register_policy("mpc", PlannerPolicy)
register_policy("oracle", OraclePolicy)

__all__ = ["DEFAULT_POLICY_PATH", "OraclePolicy", "PlannerPolicy", "PolicyLoadError", "RLPolicy"]
