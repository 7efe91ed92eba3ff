"""`gametime serve`: run the HTTP API."""

from __future__ import annotations

import typer
import uvicorn

from gametime.cli.main import app, configure_logging, settings_or_exit
from gametime.cli.sample import SAMPLE_GAME, SAMPLE_USER


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Bind address [GAMETIME_HOST]"),
    port: int | None = typer.Option(None, help="Port [GAMETIME_PORT]"),
    banner: bool = typer.Option(False, help="Print the URL and example queries"),
) -> None:
    """Serve the API on the configured backend."""
    from gametime.api.app import create_app

    settings = settings_or_exit()
    configure_logging(settings)
    host = host or settings.host
    port = port or settings.port
    if banner:
        typer.echo(_banner(f"http://{host}:{port}"))
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


def _banner(url: str) -> str:
    user, game = SAMPLE_USER, SAMPLE_GAME
    now_ms = "'\"$(date +%s000)\"'"
    event = '{"user_id":"me","game_id":"' + game + '","event_time":' + now_ms + "}"
    return "\n".join(
        [
            f"gametime is starting on {url}  (API docs: {url}/docs)",
            "Try:",
            f"  curl -s {url}/v1/users/{user}/playtime",
            f"  curl -s {url}/v1/users/{user}/games/{game}/allowance",
            f"  curl -s '{url}/user_playing_time?user_id={user}'",
            f"  curl -s -X POST {url}/v1/events -d '{event}'",
            "Stop with Ctrl+C.",
        ]
    )
