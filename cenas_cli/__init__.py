"""The `cenas` command line: the composition root that wires the kernel to the services.

An entry-point package of its own, above every service, so the kernel (`cenas`) imports
none; no other package imports it.

User mistakes end with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from cenas_cli.bench import bench_command
from cenas_cli.demo import demo_command
from cenas_cli.forecast import forecast_app
from cenas_cli.keys import keys_app
from cenas_cli.up import up_command
from cenas_cli.scheduler import scheduler_app
from cenas_cli.searches import report_command, status_command, submit_command
from cenas.errors import CenasError

app = typer.Typer(
    name="cenas",
    help="CE-NAS: carbon-efficient neural architecture search.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo_command)
app.command("bench")(bench_command)
app.add_typer(forecast_app, name="forecast")
app.command("up")(up_command)
app.add_typer(scheduler_app)
app.add_typer(keys_app)
app.command("submit")(submit_command)
app.command("status")(status_command)
app.command("report")(report_command)


@app.callback()
def root() -> None:
    """CE-NAS: carbon-efficient neural architecture search."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    try:
        app(args=argv, standalone_mode=True)
    except CenasError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
