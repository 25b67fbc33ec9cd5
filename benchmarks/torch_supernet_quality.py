"""Does the torch task's supernet rank architectures like training from scratch does?

    python benchmarks/torch_supernet_quality.py [--n 30] [--space nb201-cell-w8-d1] [--epochs 10]
        [--supernet-epochs 30] [--final 3] [--final-space nb201-cell-w16-d1] [--threads 1]

On scikit-learn's digits, CPU, `--threads` torch threads (1: on a shared 2-core machine
more threads only contend):

1. trains the weight-sharing supernet (uniform single-path, `--supernet-epochs`) once;
2. runs one sampling task exactly as a worker does (`TorchRunner.sample`, supernet loaded
   from its checkpoint) over `--n` architectures drawn uniformly (seed 0) from the 15,625
   cells: supernet validation accuracy plus exact params/FLOPs and measured latency;
3. trains each of them from scratch (`TorchRunner.evaluate`, the documented recipe with
   `--epochs` epochs) and prints Kendall tau between supernet and from-scratch accuracy
   (all candidates, and those that learn at all: from-scratch accuracy > 20 %), plus
   seconds per sampling task vs per evaluation task;
4. retrains the `--final` best of them with the full documented digits recipe (30 epochs)
   in `--final-space` (the digits default) and prints the best test accuracy and its wall time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import kendalltau

from cenas.tasks.space import CellSpace
from cenas.tasks.torch import DEFAULT_EPOCHS, TorchProblem, TorchRunner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--space", default="nb201-cell-w8-d1")
    parser.add_argument("--epochs", type=int, default=10, help="from-scratch epochs of the short recipe")
    parser.add_argument("--supernet-epochs", type=int, default=30)
    parser.add_argument("--final", type=int, default=3, help="retrain this many of the best with the full recipe (0: skip)")
    parser.add_argument("--final-space", default="nb201-cell-w16-d1")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    codes = CellSpace().random(args.n, np.random.default_rng(0)).tolist()
    work = Path(tempfile.mkdtemp(prefix="cenas-torch-bench-"))
    problem = TorchProblem("digits", args.space, ("accuracy", "params"), epochs=args.epochs)
    print(f"digits, {args.space}, {args.n} architectures, from scratch {args.epochs} epochs, supernet {args.supernet_epochs} epochs, "
          f"{args.threads} CPU thread(s), checkpoints in {work}")

    t0 = time.perf_counter()
    TorchRunner(problem, work, "bench", device=device, supernet_epochs=args.supernet_epochs).supernet()
    supernet_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    sampled = TorchRunner(problem, work, "bench", device=device, supernet_epochs=args.supernet_epochs).sample(codes)
    sample_s = time.perf_counter() - t0

    runner = TorchRunner(problem, work, "bench", device=device)
    scratch, eval_s = [], []
    for i, code in enumerate(codes):
        t0 = time.perf_counter()
        metrics, _ = runner.evaluate(code)
        eval_s.append(time.perf_counter() - t0)
        runner.forget(code)
        scratch.append(metrics["accuracy"])
        print(f"  {i + 1:2d}/{args.n} code {code:5d}  supernet {sampled[i]['accuracy']:5.1f} %  scratch {metrics['accuracy']:5.1f} %  "
              f"params {int(metrics['params']):6d}  {eval_s[-1]:.1f} s")
    proxy = np.array([m["accuracy"] for m in sampled])
    truth = np.array(scratch)
    tau_all = kendalltau(proxy, truth).statistic
    learns = truth > 20.0
    tau_learn = kendalltau(proxy[learns], truth[learns]).statistic if learns.sum() > 2 else float("nan")
    mean_eval = statistics.mean(eval_s)
    print(f"Kendall tau supernet vs from-scratch accuracy: {tau_all:.3f} (all {args.n}), {tau_learn:.3f} ({int(learns.sum())} that learn)")
    print(f"supernet training (once per search): {supernet_s:.1f} s")
    print(f"sampling task ({args.n} candidates, supernet loaded from its checkpoint): {sample_s:.2f} s "
          f"= {sample_s / args.n:.3f} s per candidate")
    print(f"evaluation task ({args.epochs} epochs): mean {mean_eval:.2f} s; "
          f"ratio evaluation / sampling task {mean_eval / sample_s:.1f}x, per candidate {mean_eval / (sample_s / args.n):.0f}x")

    if args.final:
        best = [codes[i] for i in np.argsort(-truth)[: args.final]]
        full = TorchProblem("digits", args.final_space, ("accuracy", "params"))
        final_runner = TorchRunner(full, work, "final", device=device)
        print(f"full recipe ({DEFAULT_EPOCHS['digits']} epochs, {args.final_space}) on the {args.final} best:")
        results = []
        for code in best:
            t0 = time.perf_counter()
            metrics, _ = final_runner.evaluate(code)
            results.append((metrics["accuracy"], time.perf_counter() - t0, code))
            print(f"  {CellSpace().arch_str(code)}  test {metrics['accuracy']:.2f} %  val {metrics['val_accuracy']:.2f} %  "
                  f"{results[-1][1]:.1f} s")
        acc, secs, code = max(results)
        print(f"best from-scratch test accuracy on digits: {acc:.2f} % (code {code}) in {secs:.1f} s wall time")


if __name__ == "__main__":
    main()
