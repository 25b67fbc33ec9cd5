"""`cenas keys create`: an API key for the gateway, stored (hashed) in the configured database."""

from __future__ import annotations

from typing import Annotated

import typer

from cenas.settings import Settings

keys_app = typer.Typer(name="keys", help="Manage gateway API keys.", no_args_is_help=True)


@keys_app.command("create")
def create_command(name: Annotated[str, typer.Option("--name", help="Who or what the key is for (shown in listings, never secret).")]) -> None:
    """Create an API key and print it once, alone on the last line (only its hash is stored)."""
    from cenas.db import make_engine
    from cenas.errors import CenasError
    from gateway.auth import create_api_key

    engine = make_engine(Settings())
    try:
        row, key = create_api_key(engine, name=name)
    except ValueError as exc:
        raise CenasError(str(exc)) from None
    finally:
        engine.dispose()
    typer.echo(f"created API key {row.name!r} (id {row.id}); store it now, it is not shown again:")
    typer.echo(key)
