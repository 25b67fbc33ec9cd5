"""Bar chart of a `scheduler_grid.py --json` report: median grams to 99 % of the maximum
hypervolume per region and policy, with the 95 % bootstrap interval of each median.

    python benchmarks/plot_grid.py benchmarks/results/loro/full.json [--out loro_full.png]

Runs that never reached the target count as infinite (censored), as in the printed tables;
a bar whose median is infinite is drawn hatched at the top of the axis and labelled "never".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from scheduler_grid import median_inf, median_interval  # noqa: E402


def as_inf(values: list) -> list[float]:
    return [float("inf") if v is None else float(v) for v in values]


def plot(report: dict, out: Path, label: str = "uncapped") -> None:
    grid = report["grid"][label]
    regions = list(grid)
    policies = list(grid[regions[0]])
    blocks = {r: {p: as_inf(grid[r][p]["g99"]) for p in policies} for r in regions}
    blocks["ALL"] = {p: [v for r in regions for v in blocks[r][p]] for p in policies}
    finite = [m for b in blocks.values() for p in policies if np.isfinite(m := median_inf(b[p]))]
    top = 1.15 * max(finite) if finite else 1.0
    width = 0.8 / len(policies)
    fig, ax = plt.subplots(figsize=(max(8, 1.3 * len(blocks)), 4.5))
    x = np.arange(len(blocks))
    for i, policy in enumerate(policies):
        medians, lows, highs = [], [], []
        for block in blocks.values():
            m = median_inf(block[policy])
            lo, hi = median_interval(block[policy])
            medians.append(m if np.isfinite(m) else top)
            lows.append(m - lo if np.isfinite(m) and np.isfinite(lo) else 0.0)
            highs.append((min(hi, 1.2 * top) - m) if np.isfinite(m) else 0.0)
        bars = ax.bar(x + (i - (len(policies) - 1) / 2) * width, medians, width, yerr=[lows, highs], capsize=2, label=policy)
        for bar, block in zip(bars, blocks.values()):
            if not np.isfinite(median_inf(block[policy])):
                bar.set_hatch("//")
                ax.annotate("never", (bar.get_x() + bar.get_width() / 2, top), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(x, list(blocks), rotation=30, ha="right")
    ax.set_ylim(0, top * 1.3)  # room for the legend above the bars
    ax.set_ylabel("g CO2 to 99 % of the max HV (median, 95 % CI)")
    args = report["args"]
    ax.set_title(f"{args['accounting']} accounting, {args['gpus']} GPUs x {args['hours']} h, "
                 f"{args['starts']} starts x {args['seeds']} seeds per cell")
    ax.legend(ncol=min(len(policies), 6), fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="PNG path (default: the report's, .png)")
    args = parser.parse_args()
    try:
        report = json.loads(args.report.read_text())
        report["grid"]["uncapped"]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"error: {args.report} is not a scheduler_grid.py --json report ({type(exc).__name__}: {exc})") from None
    out = args.out or args.report.with_suffix(".png")
    plot(report, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
