"""LaMOO's knobs, validated once at construction so a bad value fails where it is written."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Selection = Literal["mcts", "leaf"]
Kernel = Literal["rbf", "poly"]
Sampler = Literal["random", "qnehvi"]

SELECTIONS: tuple[Selection, ...] = ("mcts", "leaf")
KERNELS: tuple[Kernel, ...] = ("rbf", "poly")
SAMPLERS: tuple[Sampler, ...] = ("random", "qnehvi")


@dataclass(frozen=True)
class LaMOOConfig:
    """Tree shape, exploration weight, classifier and in-region sampler.

    Defaults follow the paper: leaves of at least 10 samples, height 3, Cp at 10 % of the
    best hypervolume (the problem's maximum when known, else the current one).
    """

    #: a node is split only if both children get at least this many samples
    min_leaf_size: int = 10
    #: the root has depth 0; no node is deeper than this
    max_height: int = 3
    #: Cp = cp_fraction * (max_hypervolume if given else the root's current hypervolume)
    cp_fraction: float = 0.1
    max_hypervolume: float | None = None
    #: "mcts" walks from the root by UCB; "leaf" takes the leaf with the highest UCB
    selection: Selection = "mcts"
    #: SVM kernel; "poly" is degree 4
    kernel: Kernel = "rbf"
    #: how `LaMOO.ask` proposes codes inside the selected region
    sampler: Sampler = "random"

    def __post_init__(self) -> None:
        if not _is_int(self.min_leaf_size) or self.min_leaf_size < 1:
            raise ValueError(f"min_leaf_size must be an int >= 1, got {self.min_leaf_size!r}")
        if not _is_int(self.max_height) or self.max_height < 0:
            raise ValueError(f"max_height must be an int >= 0, got {self.max_height!r}")
        cp = self.cp_fraction
        if not _is_real(cp) or not cp >= 0 or math.isinf(cp):  # `not >=` also rejects NaN
            raise ValueError(f"cp_fraction must be a finite number >= 0, got {self.cp_fraction!r}")
        hv = self.max_hypervolume
        if hv is not None and (not _is_real(hv) or not hv > 0 or math.isinf(hv)):
            raise ValueError(f"max_hypervolume must be None or a finite number > 0, got {hv!r}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}, got {self.selection!r}")
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {self.kernel!r}")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"sampler must be one of {SAMPLERS}, got {self.sampler!r}")


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_real(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)
