"""The training recipes and one epoch-checkpointed training loop for networks and supernets.

From-scratch recipe (NAS-Bench-201's, with the epochs of the search's spec): SGD, momentum
0.9, Nesterov, weight decay 5e-4, cosine learning-rate decay to 0 over the run (stepped
per epoch), cross-entropy loss. Per preset:

=========  ==========  =====  ==============  ===============================
dataset    batch size  lr     default epochs  augmentation
=========  ==========  =====  ==============  ===============================
digits     64          0.05   30              none
cifar10    256         0.1    200             random crop (pad 4) + h-flip
=========  ==========  =====  ==============  ===============================

The supernet is trained with the same recipe (the same epochs) and uniform single-path
sampling: every step draws one op per edge uniformly and trains that path.

Determinism and resumption: the network's initial weights come from `seed`, epoch `e`
shuffles (and augments) with a generator seeded by `(seed, e)`, and after every epoch the
model, optimizer, schedule and history are written atomically to the checkpoint file. A
run that is interrupted (preempted, killed, redelivered) resumes after its last finished
epoch and, on CPU, ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cenas.tasks.space import CellSpace
from cenas.tasks.torch.data import Dataset, Split
from cenas.tasks.torch.space import DEFAULT_EPOCHS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipe:
    epochs: int
    batch_size: int
    lr: float
    augment: bool
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    seed: int = 0


RECIPES: dict[str, Recipe] = {
    "digits": Recipe(epochs=DEFAULT_EPOCHS["digits"], batch_size=64, lr=0.05, augment=False),
    "cifar10": Recipe(epochs=DEFAULT_EPOCHS["cifar10"], batch_size=256, lr=0.1, augment=True),
}
EVAL_BATCH = 1024


def recipe_for(dataset: str, epochs: int | None = None, **changes) -> Recipe:
    recipe = RECIPES[dataset]
    if epochs is not None:
        changes["epochs"] = epochs
    return replace(recipe, **changes) if changes else recipe


def default_device() -> torch.device:
    """The worker's pinned device: CUDA when this process sees one (CUDA_VISIBLE_DEVICES), else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class TrainResult:
    epochs: int  # epochs completed in total
    epochs_run: list[int]  # epochs this call trained (empty when the checkpoint was complete)
    history: list[dict]  # per epoch: loss, val accuracy, seconds
    seconds: float  # training seconds over every call (resumed runs add up)


class Interrupted(Exception):
    """Raised by an `on_epoch_end` callback to stop a run after a checkpoint (tests, preemption)."""


def _augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random 4-pixel-padded crop and horizontal flip, per image, drawn from `gen`."""
    n, _, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4))
    oy = torch.randint(0, 9, (n,), generator=gen).to(x.device)
    ox = torch.randint(0, 9, (n,), generator=gen).to(x.device)
    rows = (torch.arange(h, device=x.device)[None, :] + oy[:, None])[:, :, None]
    cols = (torch.arange(w, device=x.device)[None, :] + ox[:, None])[:, None, :]
    out = padded.permute(0, 2, 3, 1)[torch.arange(n, device=x.device)[:, None, None], rows, cols].permute(0, 3, 1, 2)
    flip = (torch.rand(n, generator=gen) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], out.flip(3), out)


@torch.no_grad()
def accuracy(model: nn.Module, split: Split, device: torch.device, op_ids: Sequence[int] | None = None) -> float:
    """Top-1 accuracy in percent, eval mode, batches of `EVAL_BATCH`."""
    was_training = model.training
    model.eval()
    correct = 0
    for i in range(0, len(split), EVAL_BATCH):
        x, y = split.x[i : i + EVAL_BATCH].to(device), split.y[i : i + EVAL_BATCH].to(device)
        logits = model(x, op_ids) if op_ids is not None else model(x)
        correct += int((logits.argmax(1) == y).sum())
    model.train(was_training)
    return 100.0 * correct / max(len(split), 1)


def _save_atomic(state: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def fit(
    model: nn.Module,
    data: Dataset,
    recipe: Recipe,
    device: torch.device,
    checkpoint: Path | None,
    *,
    fingerprint: dict,
    single_path: bool = False,
    on_epoch_end: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train `model` in place with `recipe`, resuming from `checkpoint` when it matches
    `fingerprint`; with `single_path`, `model` is a supernet and each step trains one
    uniformly drawn path. `on_epoch_end(completed_epochs)` runs after each checkpoint (it
    may raise `Interrupted` to pause there); `should_stop()` is asked before every batch
    and, when true, abandons the epoch under way with `Interrupted` (the search ended)."""
    model.to(device)
    opt = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
                          weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=recipe.epochs)
    fingerprint = {**fingerprint, "recipe": asdict(recipe)}
    start, history, seconds = 0, [], 0.0
    if checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        if state.get("fingerprint") == fingerprint:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
            start, history, seconds = state["epoch"], state["history"], state["seconds"]
            log.info("resuming %s after epoch %d of %d", checkpoint.name, start, recipe.epochs)
        else:
            log.warning("checkpoint %s belongs to another run; starting over", checkpoint)
    space = CellSpace()
    x_train, y_train = data.train.x.to(device), data.train.y.to(device)
    n = len(y_train)
    ran = []
    for epoch in range(start, recipe.epochs):
        t0 = time.perf_counter()
        gen = torch.Generator().manual_seed(recipe.seed * 100_003 + epoch)
        order = torch.randperm(n, generator=gen).to(device)
        model.train()
        total, steps = 0.0, 0
        for i in range(0, n, recipe.batch_size):
            if should_stop is not None and should_stop():
                raise Interrupted(f"stopped in epoch {epoch + 1} of {recipe.epochs}")
            idx = order[i : i + recipe.batch_size]
            x, y = x_train[idx], y_train[idx]
            if recipe.augment:
                x = _augment(x, gen)
            if single_path:
                ops = space.decode([int(torch.randint(0, space.size, (1,), generator=gen))])[0].tolist()
                logits = model(x, ops)
            else:
                logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total, steps = total + float(loss.detach()), steps + 1
        schedule.step()
        took = time.perf_counter() - t0
        seconds += took
        row = {"epoch": epoch, "loss": total / max(steps, 1), "seconds": took}
        if not single_path:
            row["val_accuracy"] = accuracy(model, data.val, device)
        history.append(row)
        ran.append(epoch)
        if checkpoint is not None:
            _save_atomic({"fingerprint": fingerprint, "epoch": epoch + 1, "model": model.state_dict(), "optimizer": opt.state_dict(),
                          "schedule": schedule.state_dict(), "history": history, "seconds": seconds}, checkpoint)
        if on_epoch_end is not None:
            on_epoch_end(epoch + 1)
    return TrainResult(recipe.epochs, ran, history, seconds)


def seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Build a module with initial weights drawn from `seed` (without touching the global RNG)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()
