"""The `torch` task: the problem the optimizer sees and the runner a worker trains with.

`TorchProblem` is cheap and pure (the optimizer and the scheduler build it): the shared
`CellSpace`, the search's two objectives (accuracy max; params, flops, latency_ms min),
a reference point, and cost estimates used only for planning.

Reference point (maximised orientation): accuracy 0 %; params and FLOPs 2.5 % beyond
those of the largest network of the space (every edge `nor_conv_3x3`), rounded up;
latency `LATENCY_REF_MS` of the dataset (a generous bound for a batch-1 forward pass: a
measured bound would differ between the processes that build the problem). There is no
table to give the true Pareto front, so `max_hypervolume` is the volume of the box between
the reference point and the ideal point (100 %, the smallest network's params / FLOPs,
0 ms): an upper bound, never reached.

`TorchRunner` does the work of one worker (`evaluate`: train from scratch and measure;
`sample`: score candidates with the search's supernet, trained once and cached).
"""

from __future__ import annotations

import fcntl
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from cenas.errors import InvalidProblemError
from cenas.tasks.objectives import Objective
from cenas.tasks.space import CellSpace
from cenas.tasks.torch.space import DATASETS, DEFAULT_EPOCHS, DEFAULT_SPACES, GOALS, NetworkShape, parse_space

log = logging.getLogger(__name__)

INPUT_SHAPES = {"digits": (1, 8, 8), "cifar10": (3, 32, 32)}
N_CLASSES = 10
LATENCY_REF_MS = {"digits": 100.0, "cifar10": 1000.0}
#: planning estimates (GPU-seconds) per sampled candidate and per training epoch
SAMPLING_COST_S = {"digits": 0.5, "cifar10": 5.0}
EPOCH_COST_S = {"digits": 1.0, "cifar10": 20.0}
#: training the search's supernet before the first candidate can be screened (measured on
#: one CPU thread for digits: about 14 s)
SUPERNET_COST_S = {"digits": 15.0, "cifar10": 600.0}


def first_result_s(dataset: str, epochs: int) -> float:
    """Rough wall seconds before a torch search's first evaluation can finish: the supernet,
    then one candidate trained from scratch (planning only; CPU figures, a GPU is faster)."""
    return SUPERNET_COST_S[dataset] + EPOCH_COST_S[dataset] * epochs
ALL_CONV3 = 3 * sum(5**k for k in range(6))  # every edge nor_conv_3x3 (op id 3): the largest cell
ALL_NONE = 0


@lru_cache(maxsize=16)
def static_costs(code: int, shape: NetworkShape, dataset: str) -> tuple[int, int]:
    """(params, flops) of one network, computed from its modules (no training)."""
    from cenas.tasks.torch.measure import count_flops, count_params
    from cenas.tasks.torch.model import build_network

    model = build_network(code, shape, INPUT_SHAPES[dataset][0], N_CLASSES)
    return count_params(model), count_flops(model, INPUT_SHAPES[dataset])


def _round_up(value: float) -> float:
    """A round number 2.5 % beyond `value` (two significant digits)."""
    target = value * 1.025
    step = 10 ** math.floor(math.log10(target)) / 10 if target > 0 else 1.0
    return math.ceil(target / step) * step


@dataclass
class TorchProblem:
    dataset: str = "digits"
    space_name: str | None = None
    objective_names: tuple[str, str] = ("accuracy", "params")
    epochs: int | None = None

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise InvalidProblemError(f"unknown torch dataset {self.dataset!r}; choose one of {', '.join(DATASETS)}")
        for name in self.objective_names:
            if name not in GOALS:
                raise InvalidProblemError(f"unknown torch objective {name!r}; choose from {', '.join(GOALS)}")
        self.space_name = self.space_name or DEFAULT_SPACES[self.dataset]
        self.shape = parse_space(self.space_name)
        self.epochs = self.epochs or DEFAULT_EPOCHS[self.dataset]
        self.space = CellSpace()
        self.objectives = tuple(Objective(name, GOALS[name]) for name in self.objective_names)  # type: ignore[arg-type]
        self.sampling_cost_s = SAMPLING_COST_S[self.dataset]
        self.ref_point = np.array([0.0 if o.goal == "max" else -self._bounds(o.name)[1] for o in self.objectives])

    @property
    def name(self) -> str:
        return f"torch:{self.dataset}:{self.space_name}"

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return INPUT_SHAPES[self.dataset]

    def _bounds(self, metric: str) -> tuple[float, float]:
        """(ideal, reference) in natural units for a minimised metric."""
        if metric == "latency_ms":
            return 0.0, LATENCY_REF_MS[self.dataset]
        index = 0 if metric == "params" else 1
        low = static_costs(ALL_NONE, self.shape, self.dataset)[index]
        high = static_costs(ALL_CONV3, self.shape, self.dataset)[index]
        return float(low), _round_up(float(high))

    @cached_property
    def max_hypervolume(self) -> float:
        ideal = np.array([100.0 if o.goal == "max" else -self._bounds(o.name)[0] for o in self.objectives])
        return float(np.prod(ideal - self.ref_point))

    def evaluation_cost_s(self, codes: np.ndarray) -> np.ndarray:
        """Planning estimate only: the worker records the measured seconds."""
        return np.full(len(np.atleast_1d(codes)), EPOCH_COST_S[self.dataset] * self.epochs, dtype=np.float64)

    def maximised(self, metrics: dict[str, float]) -> list[float]:
        """The search's objectives, in the maximised orientation, from a metrics dict."""
        return [o.sign * float(metrics[o.name]) for o in self.objectives]


@dataclass
class TorchRunner:
    """Trains and measures for one search on one worker; checkpoints live under `workdir`.

    `key` names the search (its id): the supernet is trained once per (key, dataset, space)
    and cached at `workdir/supernet/<key>-<dataset>-<space>.pt`; from-scratch runs keep
    per-epoch checkpoints at `workdir/eval/<key>-<code>.pt` until `forget(code)`.
    """

    problem: TorchProblem
    workdir: Path
    key: str
    cifar10_dir: Path | None = None
    device: object | None = None  # torch.device; default: CUDA when visible, else CPU
    latency_repeats: int = 10
    supernet_epochs: int | None = None  # default: the search's epochs
    cpu_threads: int | None = None  # torch's intra-op threads in this process; None: torch's default
    _supernet: object | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        from cenas.tasks.torch.train import default_device

        self.device = self.device or default_device()
        if self.cpu_threads is not None:
            import torch

            torch.set_num_threads(self.cpu_threads)

    @cached_property
    def data(self):
        from cenas.tasks.torch.data import load_dataset

        return load_dataset(self.problem.dataset, cifar10_dir=self.cifar10_dir)

    def recipe(self, supernet: bool = False):
        from cenas.tasks.torch.train import recipe_for

        return recipe_for(self.problem.dataset, (self.supernet_epochs if supernet else None) or self.problem.epochs)

    def _fingerprint(self, code: int | None) -> dict:
        return {"code": code, "dataset": self.problem.dataset, "space": self.problem.space_name}

    def checkpoint(self, code: int) -> Path:
        return self.workdir / "eval" / f"{self.key}-{code}.pt"

    def supernet_path(self) -> Path:
        return self.workdir / "supernet" / f"{self.key}-{self.problem.dataset}-{self.problem.space_name}.pt"

    def measure(self, model) -> dict[str, float]:
        from cenas.tasks.torch.measure import count_flops, count_params, measure_latency_ms

        shape = self.problem.input_shape
        return {"params": float(count_params(model)), "flops": float(count_flops(model, shape)),
                "latency_ms": measure_latency_ms(model, shape, repeats=self.latency_repeats)}

    # --- evaluation -------------------------------------------------------------------
    def evaluate(self, code: int, on_epoch_end: Callable[[int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> tuple[dict[str, float], object]:
        """Train `code` from scratch (resuming its checkpoint); (metrics, TrainResult).

        metrics: accuracy (test, %), val_accuracy, params, flops, latency_ms. The callbacks
        are `train.fit`'s: pause after a checkpoint, or abandon the run at the next batch."""
        from cenas.tasks.torch.model import build_network
        from cenas.tasks.torch.train import accuracy, fit, seeded

        recipe = self.recipe()
        channels = self.problem.input_shape[0]
        model = seeded(lambda: build_network(code, self.problem.shape, channels, N_CLASSES), recipe.seed)
        result = fit(model, self.data, recipe, self.device, self.checkpoint(code), fingerprint=self._fingerprint(code),
                     on_epoch_end=on_epoch_end, should_stop=should_stop)
        metrics = {"accuracy": accuracy(model, self.data.test, self.device), "val_accuracy": accuracy(model, self.data.val, self.device)}
        metrics.update(self.measure(model))
        return metrics, result

    def forget(self, code: int) -> None:
        """Drop a finished run's checkpoint once its result is stored."""
        self.checkpoint(code).unlink(missing_ok=True)

    # --- sampling ---------------------------------------------------------------------
    def supernet(self, should_stop: Callable[[], bool] | None = None):
        """The search's trained supernet: from memory, else its checkpoint, else trained now
        (under a file lock, so workers sharing `workdir` train it once; `should_stop` as in
        `train.fit`)."""
        if self._supernet is not None:
            return self._supernet
        from cenas.tasks.torch.model import build_supernet
        from cenas.tasks.torch.train import fit, seeded

        recipe = self.recipe(supernet=True)
        path = self.supernet_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        model = seeded(lambda: build_supernet(self.problem.shape, self.problem.input_shape[0], N_CLASSES), recipe.seed)
        with open(path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                result = fit(model, self.data, recipe, self.device, path, fingerprint=self._fingerprint(None), single_path=True,
                             should_stop=should_stop)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        log.info("supernet %s: %s", path.name, f"trained {len(result.epochs_run)} epochs" if result.epochs_run else "loaded")
        self._supernet = model
        return model

    def sample(self, codes: Sequence[int], should_stop: Callable[[], bool] | None = None) -> list[dict[str, float]]:
        """Per code: supernet validation accuracy (%) and the exact params, FLOPs, latency."""
        from cenas.tasks.torch.model import build_network
        from cenas.tasks.torch.train import Interrupted, accuracy

        supernet = self.supernet(should_stop)
        out = []
        for code in codes:
            if should_stop is not None and should_stop():
                raise Interrupted(f"stopped after scoring {len(out)} of {len(codes)} candidates")
            ops = self.problem.space.decode([int(code)])[0].tolist()
            metrics = {"accuracy": accuracy(supernet, self.data.val, self.device, ops)}
            network = build_network(int(code), self.problem.shape, self.problem.input_shape[0], N_CLASSES).to(self.device)
            metrics.update(self.measure(network))
            out.append(metrics)
        return out
