"""Search tasks: the problems CE-NAS optimises (tabular NAS-Bench-201 `nb201`, real PyTorch training `torch`)."""

from cenas.tasks.objectives import Objective
from cenas.tasks.space import CellSpace
from cenas.tasks.nb201 import NB201Problem, NB201Table, parse_problem

__all__ = ["CellSpace", "NB201Problem", "NB201Table", "Objective", "parse_problem"]
