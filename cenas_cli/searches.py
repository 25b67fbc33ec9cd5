"""`cenas submit` / `status` / `report`: conveniences over the gateway's HTTP API.

They read `CENAS_GATEWAY_URL` and `CENAS_API_KEY`; any failure (a missing or malformed spec
file, a 4xx from the gateway, an unreachable gateway) ends with one `error:` line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from pydantic import ValidationError

from cenas.client import GatewayClient, read_spec_file
from cenas.search.budget import short_budget_warning
from cenas.settings import Settings
from cenas.spec import SearchSpec

SearchId = Annotated[str, typer.Argument(help="The search id `cenas submit` printed.")]


def submit_command(spec: Annotated[Path, typer.Argument(help="A SearchSpec as .json or .yaml (see API.md).")]) -> None:
    """Submit a search; prints its id alone on the last line."""
    body = read_spec_file(spec)
    try:
        warning = short_budget_warning(SearchSpec.model_validate(body))
    except ValidationError:
        warning = None  # the gateway names the field
    if warning:
        typer.echo(f"warning: {warning}", err=True)
    with GatewayClient.from_settings(Settings()) as client:
        created = client.submit(body)
    typer.echo(f"submitted {body.get('name', spec.name)!r}: {created['status']}")
    typer.echo(created["id"])


def signal_line(signal: dict | None) -> str | None:
    """Which carbon signal a search runs on, its last value and (live) its source's state."""
    if not signal:
        return None
    line = f"  signal: {signal['provider']} {signal['zone']} ({signal['signal_type']} intensity)"
    if signal["provider"] == "replay":
        return line + ", replayed"
    if signal["readings"]:
        last = signal["readings"][-1]
        raw = f" = {last['raw_value']:.1f} {last['raw_unit']}" if last["raw_unit"] != "gCO2eq/kWh" else ""
        line += f", last {last['intensity']:.1f} gCO2eq/kWh{raw}"
    source = signal.get("source") or {}
    state = source.get("state", "unpolled")
    if state != "ok":
        line += f"; provider {state}" + (f": {source['error']}" if source.get("error") else "")
    elif source.get("age_s") is not None:
        line += f"; read {source['age_s']:.0f} s ago"
    return line + f"; decisions every {signal['interval_s']:g} s"


def status_lines(search: dict, signal: dict | None = None) -> list[str]:
    """A search (GET /v1/searches/{id}, and its /signal) as a few human lines."""
    p, a = search["progress"], search["allocation"]
    lines = [f"search {search['id']} ({search['name']}): {search['status']}",
             f"  elapsed {p['elapsed_hours']:.1f} h, {p['evaluations']} evaluations, {p['samples']} samples",
             f"  hypervolume {p['hypervolume']:.2f}, carbon {p['carbon_g']:.1f} gCO2eq, energy {p['energy_kwh']:.3f} kWh",
             f"  GPUs: {a['evaluation']} evaluation, {a['sampling']} sampling, {a['idle']} idle"]
    line = signal_line(signal)
    if line:
        lines.append(line)
    if search.get("error"):
        lines.append(f"  error: {search['error']}")
    lines += [f"  warning: {w}" for w in search.get("warnings") or []]
    return lines


def status_command(search_id: SearchId) -> None:
    """Print a search's status, progress, GPU allocation and carbon signal."""
    with GatewayClient.from_settings(Settings()) as client:
        search = client.search(search_id)
        signal = client.signal(search_id, limit=1000)
    typer.echo("\n".join(status_lines(search, _last_page(client, search_id, signal))))


def _last_page(client: GatewayClient, search_id: str, signal: dict) -> dict:
    """The signal with its newest readings (the first page holds the oldest)."""
    if signal["total"] > len(signal["readings"]):
        return client.signal(search_id, limit=1000, offset=max(0, signal["total"] - 1000))
    return signal


def split_summary(decisions: list[dict]) -> dict | None:
    """Mean GPUs per role over the decisions, and how many were stale or fell back."""
    if not decisions:
        return None
    n = len(decisions)
    return {"decisions": n, **{f"mean_gpus_{role}": sum(d[f"gpus_{role}"] for d in decisions) / n
                               for role in ("evaluation", "sampling", "idle")},
            "stale": sum(1 for d in decisions if d.get("stale")), "fallback": sum(1 for d in decisions if d.get("fallback"))}


def summary(search: dict) -> dict:
    """The carbon summary of a report."""
    p = search["progress"]
    per_eval = p["carbon_g"] / p["evaluations"] if p["evaluations"] else None
    return {"status": search["status"], "elapsed_hours": p["elapsed_hours"], "evaluations": p["evaluations"], "samples": p["samples"],
            "hypervolume": p["hypervolume"], "carbon_g": p["carbon_g"], "energy_kwh": p["energy_kwh"], "carbon_g_per_evaluation": per_eval}


def pareto_table(pareto: dict) -> Table:
    """The front as a table, best first by the first objective."""
    objectives = pareto["objectives"]
    table = Table(title=f"Pareto front ({len(pareto['points'])} architectures)")
    table.add_column("architecture", overflow="fold")
    for o in objectives:
        table.add_column(f"{o['name']} ({o['goal']})", justify="right")
    first = objectives[0] if objectives else None
    points = sorted(pareto["points"], key=lambda pt: pt["values"].get(first["name"], 0.0), reverse=first["goal"] == "max") if first else []
    for point in points:
        table.add_row(point["architecture"], *(f"{point['values'].get(o['name'], float('nan')):.4g}" for o in objectives))
    return table


def report_command(
    search_id: SearchId,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the report (search, Pareto front, summary) as JSON here.")] = None,
) -> None:
    """Print a search's Pareto front and carbon summary."""
    with GatewayClient.from_settings(Settings()) as client:
        search = client.search(search_id)
        pareto = client.pareto(search_id)
        signal = client.signal(search_id, limit=1000)
        signal = _last_page(client, search_id, signal)
        decisions = client.decisions(search_id, limit=1000)["items"]
    facts = summary(search)
    split = split_summary(decisions)
    console = Console(width=160)
    console.print(pareto_table(pareto))
    console.print(f"{search['name']} ({search['id']}): {facts['status']} after {facts['elapsed_hours']:.1f} h; "
                  f"{facts['evaluations']} evaluations, {facts['samples']} samples; hypervolume {facts['hypervolume']:.2f}")
    per_eval = f", {facts['carbon_g_per_evaluation']:.2f} g per evaluation" if facts["carbon_g_per_evaluation"] is not None else ""
    console.print(f"carbon {facts['carbon_g']:.1f} gCO2eq, energy {facts['energy_kwh']:.3f} kWh{per_eval}")
    line = signal_line(signal)
    if line:
        console.print(line.strip())
    if split:
        console.print(f"GPU split over {split['decisions']} decisions: {split['mean_gpus_evaluation']:.1f} evaluation, "
                      f"{split['mean_gpus_sampling']:.1f} sampling, {split['mean_gpus_idle']:.1f} idle on average"
                      + (f"; {split['stale']} taken on a stale signal" if split["stale"] else "")
                      + (f", {split['fallback']} by a fallback policy" if split["fallback"] else ""))
    for warning in search.get("warnings") or []:
        console.print(f"warning: {warning}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        signal_facts = {k: v for k, v in signal.items() if k != "readings"}
        json_path.write_text(json.dumps({"search": search, "pareto": pareto, "summary": facts, "signal": signal_facts, "split": split},
                                        indent=2, default=str))
        console.print(f"wrote {json_path}")
