"""Names and defaults of the `torch` task, importable without torch (the spec uses them).

Space names: `nb201-cell` is NAS-Bench-201's network (width C=16, depth N=5 cells per
stage); `nb201-cell-w<C>-d<N>` sets width and depth. Every space has the same 15,625 cells
(`cenas.tasks.space.CellSpace` codes), so results cross-check with the tabular benchmark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cenas.errors import InvalidProblemError

DATASETS = ("digits", "cifar10")
#: the space a torch search uses when its spec names none: small on digits (CPU), NB201's on CIFAR-10
DEFAULT_SPACES = {"digits": "nb201-cell-w16-d1", "cifar10": "nb201-cell"}
DEFAULT_EPOCHS = {"digits": 30, "cifar10": 200}
#: the direction of every torch objective
GOALS = {"accuracy": "max", "params": "min", "flops": "min", "latency_ms": "min"}
_SPACE_RE = re.compile(r"^nb201-cell(?:-w(\d+)-d(\d+))?$")


@dataclass(frozen=True)
class NetworkShape:
    """Width (channels of the first stage) and depth (cells per stage) of the stacked network."""

    width: int = 16
    depth: int = 5

    def __post_init__(self) -> None:
        if not 1 <= self.width <= 512 or not 1 <= self.depth <= 32:
            raise InvalidProblemError(f"network width must lie in 1..512 and depth in 1..32, got w{self.width}-d{self.depth}")


def parse_space(name: str) -> NetworkShape:
    """`nb201-cell` (NAS-Bench-201's C=16, N=5) or `nb201-cell-w<C>-d<N>`."""
    match = _SPACE_RE.match(name)
    if match is None:
        raise InvalidProblemError(f"unknown torch space {name!r}; use nb201-cell or nb201-cell-w<width>-d<depth>, e.g. nb201-cell-w8-d1")
    if match.group(1) is None:
        return NetworkShape()
    return NetworkShape(int(match.group(1)), int(match.group(2)))
