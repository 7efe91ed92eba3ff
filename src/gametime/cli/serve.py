"""`gametime serve`: run the HTTP API."""

from __future__ import annotations

from pathlib import Path

import typer
import uvicorn

from gametime.api.security import local_key
from gametime.cli.main import app, configure_logging, settings_or_exit
from gametime.cli.sample import SAMPLE_GAME, SAMPLE_USER
from gametime.gc_tuning import relax_gc
from gametime.settings import Settings


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
        key = _key_for_banner(settings)
        typer.echo(_banner(f"http://{host}:{port}", key, settings.local_key_path))
    relax_gc()  # collection pauses were a large part of the p99 latency
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


def _key_for_banner(settings: Settings) -> str | None:
    """The local key when no keys are configured: a new user needs one to try."""
    if not settings.auth_required or settings.configured_api_keys():
        return None
    return local_key(settings.local_key_path)


def _banner(url: str, key: str | None, key_path: Path) -> str:
    user, game = SAMPLE_USER, SAMPLE_GAME
    now_ms = "'\"$(date +%s000)\"'"
    event = '{"user_id":"me","game_id":"' + game + '","event_time":' + now_ms + "}"
    auth = f' -H "Authorization: Bearer {key}"' if key else ""
    lines = [f"gametime is starting on {url}  (API docs: {url}/docs)"]
    if key:
        lines.append(f"Local API key (every scope; kept in {key_path}): {key}")
    return "\n".join(
        [
            *lines,
            "Try:",
            f"  curl -s{auth} {url}/v1/users/{user}/playtime",
            f"  curl -s{auth} {url}/v1/users/{user}/games/{game}/allowance",
            f"  curl -s{auth} '{url}/user_playing_time?user_id={user}'",
            f"  curl -s{auth} -X POST {url}/v1/events -d '{event}'",
            "Stop with Ctrl+C.",
        ]
    )
