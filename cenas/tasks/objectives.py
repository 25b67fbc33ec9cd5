"""Objectives with a direction; internally every objective is maximised (min ones negated)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Goal = Literal["max", "min"]


@dataclass(frozen=True)
class Objective:
    name: str
    goal: Goal

    def __post_init__(self) -> None:
        if self.goal not in ("max", "min"):
            raise ValueError(f"objective goal must be 'max' or 'min', got {self.goal!r}")

    @property
    def sign(self) -> float:
        """Multiply raw values by this to get the maximised orientation."""
        return 1.0 if self.goal == "max" else -1.0
