"""`gametime keys new`: make an API key and the configuration entry that admits it.

The secret is printed once; the configuration keeps only its SHA-256 digest.
"""

from __future__ import annotations

import orjson
import typer

from gametime.api.security import Scope, digest, new_secret
from gametime.cli.main import app

keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("new")
def new_key(
    name: str = typer.Option(..., help="Who uses the key, e.g. game-servers-eu"),
    scope: list[Scope] = typer.Option(
        ..., help="ingest, read or admin; repeat for several"
    ),
) -> None:
    """Print a new secret and its entry for GAMETIME_API_KEYS."""
    secret = new_secret()
    entry = {"name": name, "sha256": digest(secret), "scopes": sorted(set(scope))}
    typer.echo(f"secret (shown once, give it to the client): {secret}")
    typer.echo("entry for GAMETIME_API_KEYS or the GAMETIME_API_KEYS_FILE list:")
    typer.echo(orjson.dumps(entry).decode())
