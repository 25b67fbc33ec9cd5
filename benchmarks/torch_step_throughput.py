"""Training-step throughput of the torch task's networks on CIFAR-10-shaped inputs.

    python benchmarks/torch_step_throughput.py [--spaces nb201-cell-w16-d1 nb201-cell] [--steps 10] [--threads 1]

Random 3x32x32 images, batch 64, 10 classes, the from-scratch recipe's optimizer (SGD,
Nesterov momentum 0.9, weight decay 5e-4), one full training step (forward, backward,
update) per batch. For each space, three cells: the largest (every edge nor_conv_3x3),
a mixed one and a cheap one (1x1 convs and skips). Prints images/s on CPU (`--threads`
torch threads) and, when a CUDA device is present, on CUDA with the NVML energy of one
CIFAR-10 epoch (50,000 images) extrapolated from the timed steps; without a GPU that
part is skipped with a line saying so.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from cenas.tasks.space import CellSpace
from cenas.tasks.torch import parse_space
from cenas.tasks.torch.model import build_network

SPACE = CellSpace()
CELLS = {
    "all 3x3": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "mixed": "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|",
    "1x1+skip": "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|",
}
BATCH = 64
EPOCH_IMAGES = 50_000


def timed_steps(model: torch.nn.Module, device: torch.device, steps: int, warmup: int = 2) -> float:
    """Seconds per training step (after warm-up)."""
    model.to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x = torch.randn(BATCH, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (BATCH,), device=device)

    def step() -> None:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (time.perf_counter() - t0) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spaces", nargs="+", default=["nb201-cell-w16-d1", "nb201-cell"])
    parser.add_argument("--steps", type=int, default=10, help="timed CPU steps per network")
    parser.add_argument("--cuda-steps", type=int, default=200, help="timed CUDA steps per network")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (1: on a shared 2-core host more only contend)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cuda = torch.cuda.is_available()
    meter = None
    if cuda:
        from worker.energy import NvmlMeter

        try:
            meter = NvmlMeter(torch.cuda.current_device())
        except Exception as exc:  # no NVML or no energy counter: throughput only
            print(f"NVML energy unavailable ({exc}); CUDA throughput only")
    print(f"batch {BATCH}, 3x32x32 random inputs, CPU with {args.threads} thread(s){', CUDA ' + torch.cuda.get_device_name() if cuda else ''}")
    for space in args.spaces:
        shape = parse_space(space)
        for label, arch in CELLS.items():
            code = SPACE.parse_arch_str(arch)
            seconds = timed_steps(build_network(code, shape, 3, 10), torch.device("cpu"), args.steps)
            line = f"{space:18s} {label:9s} CPU {BATCH / seconds:8.0f} images/s"
            if cuda:
                device = torch.device("cuda")
                model = build_network(code, shape, 3, 10)
                j0 = meter.read_joules() if meter else 0.0
                gpu_seconds = timed_steps(model, device, args.cuda_steps)
                joules = (meter.read_joules() - j0) if meter else None
                steps_per_epoch = EPOCH_IMAGES / BATCH
                line += f" | CUDA {BATCH / gpu_seconds:9.0f} images/s, {gpu_seconds * steps_per_epoch:6.1f} s/epoch"
                if joules is not None:
                    per_step = joules / (args.cuda_steps + 2)  # the meter also saw the 2 warm-up steps
                    line += f", {per_step * steps_per_epoch / 1000:.2f} kJ/epoch (NVML)"
            print(line)
    if not cuda:
        print("CUDA: no GPU in this process; the CUDA throughput and NVML energy part was skipped")


if __name__ == "__main__":
    main()
