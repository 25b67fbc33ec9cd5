"""The `torch` task: NAS-Bench-201 cells trained for real in PyTorch (see `problem`).

Importing this package does not import torch; `TorchProblem` builds networks only when it
needs their sizes.
"""

from cenas.tasks.torch.problem import TorchProblem, TorchRunner
from cenas.tasks.torch.space import DATASETS, DEFAULT_EPOCHS, DEFAULT_SPACES, GOALS, NetworkShape, parse_space

__all__ = ["DATASETS", "DEFAULT_EPOCHS", "DEFAULT_SPACES", "GOALS", "NetworkShape", "TorchProblem", "TorchRunner", "parse_space"]
