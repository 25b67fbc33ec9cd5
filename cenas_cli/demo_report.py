"""What `cenas demo` reports: the vanilla-NAS comparison (the simulator, in-process), the
summary lines, `report.json` and `report.png`.

Pure functions over what the demo collected from the gateway; no HTTP, no processes.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from cenas.search.proposers import ProposerFactory
from scheduler_svc.simulator.results import EpisodeResult

#: one row per gateway poll: when (wall seconds since submission) and what the search showed
SERIES_FIELDS = ("wall_s", "status", "elapsed_hours", "evaluations", "samples", "hypervolume", "carbon_g", "energy_kwh",
                 "gpus_evaluation", "gpus_sampling", "gpus_idle")


def series_row(wall_s: float, search: dict) -> dict:
    """One poll of GET /v1/searches/{id} as a time-series row."""
    p, a = search["progress"], search["allocation"]
    return {"wall_s": round(wall_s, 2), "status": search["status"], "elapsed_hours": p["elapsed_hours"],
            "evaluations": p["evaluations"], "samples": p["samples"], "hypervolume": p["hypervolume"],
            "carbon_g": p["carbon_g"], "energy_kwh": p["energy_kwh"], "gpus_evaluation": a["evaluation"],
            "gpus_sampling": a["sampling"], "gpus_idle": a["idle"]}


def optimizer_proposer(spec: dict) -> ProposerFactory:
    """The optimizer service's LaMOO with the search's sampler: vanilla proposes as the search's optimizer does."""
    from optimizer_svc.lamoo import LaMOO, LaMOOConfig

    sampler = spec.get("optimizer", {}).get("sampler", "random")
    return lambda space, ref, seed: LaMOO(space, ref, LaMOOConfig(sampler=sampler), seed=seed)


def vanilla_comparison(search: dict, vanilla: EpisodeResult | None) -> dict | None:
    """Vanilla's totals, and what it needed to reach the demo's final hypervolume (if it did)."""
    if vanilla is None:
        return None
    p = search["progress"]
    reached = vanilla.first_reaching(p["hypervolume"]) if p["hypervolume"] > 0 else None
    out = {"policy": "vanilla", "seed": vanilla.seed, "hours": len(vanilla.rows) - 1,
           "final_hypervolume": vanilla.final_hypervolume, "carbon_g": vanilla.carbon_g, "energy_kwh": vanilla.energy_kwh,
           "evaluations": len(vanilla.evaluations), "reaches_demo_hypervolume": reached is not None,
           "hours_to_demo_hypervolume": reached[0] if reached else None,
           "carbon_g_to_demo_hypervolume": reached[1] if reached else None,
           "trace": [asdict(row) for row in vanilla.rows]}
    baseline = out["carbon_g_to_demo_hypervolume"] if reached else vanilla.carbon_g
    out["carbon_saved_pct"] = 100.0 * (1.0 - p["carbon_g"] / baseline) if baseline > 0 else None
    return out


def summary_lines(search: dict, comparison: dict | None) -> list[str]:
    """The carbon summary, CE-NAS beside vanilla NAS."""
    p = search["progress"]
    lines = [f"CE-NAS ({search['spec']['policy']}): hypervolume {p['hypervolume']:.2f} after {p['elapsed_hours']:.1f} h, "
             f"{p['evaluations']} evaluations, {p['samples']} samples, {p['carbon_g']:.0f} gCO2eq, {p['energy_kwh']:.2f} kWh"]
    if comparison is None:
        return lines + ["vanilla NAS: no simulator comparison for this task"]
    c = comparison
    lines.append(f"vanilla NAS (simulated, same setting): hypervolume {c['final_hypervolume']:.2f} after {c['hours']} h, "
                 f"{c['evaluations']} evaluations, {c['carbon_g']:.0f} gCO2eq, {c['energy_kwh']:.2f} kWh")
    if c["reaches_demo_hypervolume"]:
        lines.append(f"vanilla NAS reached CE-NAS's hypervolume after {c['hours_to_demo_hypervolume']:.1f} h and "
                     f"{c['carbon_g_to_demo_hypervolume']:.0f} gCO2eq")
    else:
        lines.append("vanilla NAS never reached CE-NAS's hypervolume in the same hours")
    if c["carbon_saved_pct"] is not None:
        against = "to reach the same hypervolume" if c["reaches_demo_hypervolume"] else "over the whole run"
        lines.append(f"CE-NAS used {abs(c['carbon_saved_pct']):.0f} % {'less' if c['carbon_saved_pct'] >= 0 else 'more'} "
                     f"carbon than vanilla NAS {against}")
    return lines


def write_report(out: Path, report: dict) -> tuple[Path, Path]:
    """`report.json` and `report.png` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = out / "report.json", out / "report.png"
    json_path.write_text(json.dumps(report, indent=2, default=str))
    plot_report(report, png_path)
    return json_path, png_path


def plot_report(report: dict, path: Path) -> None:
    """Four panels: hypervolume vs trace hours and vs carbon (CE-NAS from the polls, vanilla
    from the simulator), the GPU split per hour and the grid's intensity (from /decisions)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series, decisions, vanilla = report["series"], report["decisions"], report.get("vanilla")
    label = f"CE-NAS ({report['spec']['policy']})"
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), constrained_layout=True)
    hv_t, hv_c, alloc, inten = axes.flat
    hv_t.plot([r["elapsed_hours"] for r in series], [r["hypervolume"] for r in series], label=label)
    hv_c.plot([r["carbon_g"] for r in series], [r["hypervolume"] for r in series], label=label)
    if vanilla:
        hv_t.plot([r["hour"] for r in vanilla["trace"]], [r["hypervolume"] for r in vanilla["trace"]], "--", label="vanilla (simulated)")
        hv_c.plot([r["carbon_g"] for r in vanilla["trace"]], [r["hypervolume"] for r in vanilla["trace"]], "--", label="vanilla (simulated)")
    hv_t.set(title="hypervolume vs time", xlabel="trace hours", ylabel="hypervolume")
    hv_c.set(title="hypervolume vs carbon", xlabel="gCO2eq", ylabel="hypervolume")
    for ax in (hv_t, hv_c):
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)
    hours = [d["interval"] for d in decisions]
    if hours:
        alloc.stackplot(hours, [d["gpus_evaluation"] for d in decisions], [d["gpus_sampling"] for d in decisions],
                        [d["gpus_idle"] for d in decisions], labels=["evaluation", "sampling", "idle"], step="post")
        alloc.legend(loc="upper right")
        inten.step(hours, [d["intensity"] for d in decisions], where="post", color="tab:red")
    alloc.set(title="GPU allocation per hour", xlabel="trace hours", ylabel="GPUs", ylim=(0, max(1, report["spec"]["gpus"])))
    inten.set(title=f"carbon intensity ({report['spec']['carbon']['region']})", xlabel="trace hours", ylabel="gCO2eq/kWh")
    inten.grid(alpha=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)
