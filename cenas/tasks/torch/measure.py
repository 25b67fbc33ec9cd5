"""Exact cost metrics of one network: parameters, FLOPs, latency.

* `params`: sum of `numel` over the network's parameters (BN affine included).
* `flops`: `torch.utils.flop_counter.FlopCounterMode` over one batch-1 forward pass in
  eval mode: convolutions and the linear layer, 2 FLOPs per multiply-accumulate (the
  library's convention; pooling, BN and additions are not counted).
* `latency_ms`: median wall time of a batch-1 forward pass in eval mode under
  `torch.inference_mode`, after warm-up runs, on the given device (CUDA is synchronised).
"""

from __future__ import annotations

import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def _one_input(model: nn.Module, shape: tuple[int, int, int]) -> torch.Tensor:
    device = next(model.parameters()).device
    return torch.zeros(1, *shape, device=device)


def count_flops(model: nn.Module, shape: tuple[int, int, int]) -> int:
    was_training = model.training
    model.eval()
    try:
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            model(_one_input(model, shape))
        return int(counter.get_total_flops())
    finally:
        model.train(was_training)


def measure_latency_ms(model: nn.Module, shape: tuple[int, int, int], *, repeats: int = 10, warmup: int = 2) -> float:
    was_training = model.training
    model.eval()
    x = _one_input(model, shape)
    cuda = x.device.type == "cuda"
    times = []
    try:
        with torch.inference_mode():
            for i in range(warmup + repeats):
                if cuda:
                    torch.cuda.synchronize(x.device)
                t0 = time.perf_counter()
                model(x)
                if cuda:
                    torch.cuda.synchronize(x.device)
                if i >= warmup:
                    times.append((time.perf_counter() - t0) * 1000.0)
    finally:
        model.train(was_training)
    return float(statistics.median(times))
