"""LaMOO: multi-objective search by learned space partitions (pure logic, no I/O).

`LaMOO` is the optimizer (tell / fit / ask), `LaMOOConfig` its knobs, `Region` the part of
the space it currently proposes from; the tree and samplers are private modules.
"""

from optimizer_svc.lamoo.config import LaMOOConfig
from optimizer_svc.lamoo.optimizer import LaMOO
from optimizer_svc.lamoo.region import Region
from optimizer_svc.lamoo.tree import Node

__all__ = ["LaMOO", "LaMOOConfig", "Node", "Region"]
