"""`gametime serve`: run the HTTP API."""

from __future__ import annotations

import typer
import uvicorn

from gametime.cli.main import app, configure_logging, settings_or_exit


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address [GAMETIME_HOST]"),
    port: int | None = typer.Option(None, help="Port [GAMETIME_PORT]"),
) -> None:
    """Serve the API on the configured backend."""
    from gametime.api.app import create_app

    settings = settings_or_exit()
    configure_logging(settings)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )
