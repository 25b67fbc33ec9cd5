"""Files a bench run leaves behind: `summary.json`, two plots and a printed table."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: benches run on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from rich.table import Table  # noqa: E402


def write_summary(summary: dict, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "summary.json"
    path.write_text(json.dumps(summary, indent=1))
    return path


def _by_policy(summary: dict) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for run in summary["runs"]:
        groups.setdefault(run["policy"], []).append(run)
    return groups


def _stack(runs: list[dict], key: str) -> np.ndarray:
    """`runs x hours` array of a cumulative trace figure; runs stopped early hold their last value."""
    length = max(len(r["trace"]) for r in runs)
    rows = []
    for run in runs:
        values = [row[key] for row in run["trace"]]
        rows.append(values + [values[-1]] * (length - len(values)))
    return np.array(rows, dtype=float)


def plot_hv_vs_time(summary: dict, path: Path) -> Path:
    max_hv = summary["max_hypervolume"]
    fig, (ax_hv, ax_gap) = plt.subplots(1, 2, figsize=(12, 4.5))
    for policy, runs in _by_policy(summary).items():
        hv = _stack(runs, "hypervolume")
        hours = np.arange(hv.shape[1])
        (line,) = ax_hv.plot(hours, np.median(hv, axis=0), label=policy)
        ax_hv.fill_between(hours, hv.min(axis=0), hv.max(axis=0), color=line.get_color(), alpha=0.15)
        gap = np.maximum(max_hv - hv, 1e-3)
        ax_gap.plot(hours, np.log10(np.median(gap, axis=0)), color=line.get_color(), label=policy)
    ax_hv.axhline(max_hv, color="black", lw=0.8, ls="--", label="max")
    ax_hv.set(xlabel="hours", ylabel="hypervolume", title="Hypervolume vs time (median, min-max band)")
    ax_hv.set_ylim(bottom=max(0.0, 0.8 * max_hv))
    ax_gap.set(xlabel="hours", ylabel="log10(max HV - HV)", title="Log hypervolume difference (median)")
    for ax in (ax_hv, ax_gap):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(f"{summary['problem']} · {summary['region']} from {summary['start']} · {summary['gpus']} GPUs · {summary['accounting']} accounting")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_hv_vs_carbon(summary: dict, path: Path) -> Path:
    max_hv = summary["max_hypervolume"]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for policy, runs in _by_policy(summary).items():
        color = None
        for run in runs:
            carbon = [row["carbon_g"] / 1000 for row in run["trace"]]
            hv = [row["hypervolume"] for row in run["trace"]]
            (line,) = ax.plot(carbon, hv, color=color, alpha=0.35, lw=0.8)
            color = line.get_color()
        ax.plot([], [], color=color, label=policy)
    ax.axhline(max_hv, color="black", lw=0.8, ls="--")
    for fraction in (0.99, 0.995):
        ax.axhline(fraction * max_hv, color="grey", lw=0.6, ls=":")
    ax.set_ylim(bottom=0.9 * max_hv, top=1.002 * max_hv)
    ax.set(xlabel="kg CO2eq", ylabel="hypervolume", title=f"Hypervolume vs carbon ({summary['accounting']} accounting; one line per seed)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def summary_table(summary: dict) -> Table:
    table = Table(caption="medians over seeds; g@X / h@X: grams and hours to reach X of the max hypervolume (n/N: runs that reached it)", title=f"{summary['problem']} on {summary['region']} · {summary['hours']} h · {summary['gpus']} GPUs · {summary['accounting']} accounting · max HV {summary['max_hypervolume']:.2f}")
    table.add_column("policy", no_wrap=True)
    table.add_column("final HV", justify="right")
    table.add_column("g CO2", justify="right")
    table.add_column("kWh", justify="right")
    table.add_column("evals", justify="right")
    for target in summary["aggregates"][0]["targets"] if summary["aggregates"] else []:
        pct = f"{100 * target['fraction']:g}%"
        table.add_column(f"g@{pct}", justify="right")
        table.add_column(f"h@{pct}", justify="right")
    for agg in summary["aggregates"]:
        cells = [
            agg["policy"], _fmt(agg["median_final_hypervolume"], 2), _fmt(agg["median_carbon_g"]),
            _fmt(agg["median_energy_kwh"], 1), _fmt(agg["median_evaluations"]),
        ]
        for target in agg["targets"]:
            note = "" if target["reached"] == agg["runs"] else f" {target['reached']}/{agg['runs']}"
            cells += [_fmt(target["median_carbon_g"]) + note, _fmt(target["median_hours"], 1)]
        table.add_row(*cells)
    return table
