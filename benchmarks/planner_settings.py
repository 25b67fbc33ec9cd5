"""Fixed planner settings side by side: why a `planner`-kind policy picks them per search.

    python benchmarks/planner_settings.py --accounting paper [scheduler_grid.py options]

Registers `mpc` at each of the settings the policy can choose (`scheduler_svc.rl.settings`)
as `mpc[CAP,xPRICE]` (e.g. `mpc[1,x1.0]`: at most one unit at once, the usual price) and
runs them through `scheduler_grid.py`'s grid. The defaults are the measurement quoted in
`settings.py`'s docstring: 2022 validation starts (inside the training window, never
the 2023 test year), PJM and CISO, 3 starts x 2 seeds per cell, 8 GPUs x 80 h, LaMOO.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import scheduler_svc.rl  # noqa: E402,F401  registers mpc
import scheduler_grid  # noqa: E402
from scheduler_svc.rl.planner import PlannerPolicy, pool_units  # noqa: E402
from scheduler_svc.rl.settings import PLANNER_SETTINGS, PlannerSetting  # noqa: E402
from scheduler_svc.simulator.policies import register_policy  # noqa: E402


class FixedSettingPlanner(PlannerPolicy):
    """`mpc` held at one setting for the whole search."""

    def __init__(self, setting: PlannerSetting) -> None:
        super().__init__()
        self.setting = setting
        self.name = label(setting)

    def decide(self, observation):
        units = pool_units(self.context.power, observation.gpus)
        return self.decide_with(observation, max_units=self.setting.max_units(units), price_scale=self.setting.price_scale)


def label(setting: PlannerSetting) -> str:
    return f"mpc[{setting.concurrency},x{setting.price_scale}]"


for _setting in PLANNER_SETTINGS:  # at import, so the grid's worker processes have them too
    register_policy(label(_setting), lambda s=_setting: FixedSettingPlanner(s))

DEFAULTS = ["--year", "2022", "--regions", "US-MIDA-PJM", "US-CAL-CISO", "--starts", "3", "--seeds", "2", "--jobs", "2",
            "--policies", "mpc[1,x1.0]", "mpc[2,x1.0]", "mpc[2,x2.0]", "mpc[all,x1.0]", "oneshot", "heuristic"]

if __name__ == "__main__":
    sys.argv[1:] = DEFAULTS + sys.argv[1:]  # later options win
    scheduler_grid.main()
