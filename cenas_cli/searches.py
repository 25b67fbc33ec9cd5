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

from cenas.client import GatewayClient, read_spec_file
from cenas.settings import Settings

SearchId = Annotated[str, typer.Argument(help="The search id `cenas submit` printed.")]


def submit_command(spec: Annotated[Path, typer.Argument(help="A SearchSpec as .json or .yaml (see API.md).")]) -> None:
    """Submit a search; prints its id alone on the last line."""
    body = read_spec_file(spec)
    with GatewayClient.from_settings(Settings()) as client:
        created = client.submit(body)
    typer.echo(f"submitted {body.get('name', spec.name)!r}: {created['status']}")
    typer.echo(created["id"])


def status_lines(search: dict) -> list[str]:
    """A search (GET /v1/searches/{id}) as a few human lines."""
    p, a = search["progress"], search["allocation"]
    lines = [f"search {search['id']} ({search['name']}): {search['status']}",
             f"  elapsed {p['elapsed_hours']:.1f} h, {p['evaluations']} evaluations, {p['samples']} samples",
             f"  hypervolume {p['hypervolume']:.2f}, carbon {p['carbon_g']:.1f} gCO2eq, energy {p['energy_kwh']:.3f} kWh",
             f"  GPUs: {a['evaluation']} evaluation, {a['sampling']} sampling, {a['idle']} idle"]
    if search.get("error"):
        lines.append(f"  error: {search['error']}")
    return lines


def status_command(search_id: SearchId) -> None:
    """Print a search's status, progress and GPU allocation."""
    with GatewayClient.from_settings(Settings()) as client:
        search = client.search(search_id)
    typer.echo("\n".join(status_lines(search)))


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
    facts = summary(search)
    console = Console(width=160)
    console.print(pareto_table(pareto))
    console.print(f"{search['name']} ({search['id']}): {facts['status']} after {facts['elapsed_hours']:.1f} h; "
                  f"{facts['evaluations']} evaluations, {facts['samples']} samples; hypervolume {facts['hypervolume']:.2f}")
    per_eval = f", {facts['carbon_g_per_evaluation']:.2f} g per evaluation" if facts["carbon_g_per_evaluation"] is not None else ""
    console.print(f"carbon {facts['carbon_g']:.1f} gCO2eq, energy {facts['energy_kwh']:.3f} kWh{per_eval}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"search": search, "pareto": pareto, "summary": facts}, indent=2))
        console.print(f"wrote {json_path}")
