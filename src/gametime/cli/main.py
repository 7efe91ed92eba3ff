"""Entry point of the `gametime` command; each subcommand lives in its own module."""

from __future__ import annotations

import logging

import typer

from gametime.settings import Settings, load_settings

app = typer.Typer(
    help="Real-time play-time tracking and enforcement.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Real-time play-time tracking and enforcement."""


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )


def settings_or_exit() -> Settings:
    from gametime.errors import ConfigurationError

    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.secho(f"configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


def run() -> None:
    # Importing a command's module registers it.
    from gametime.cli import (  # noqa: F401
        generate,
        import_presence,
        import_sessions,
        keys,
        process,
        produce,
        rebuild,
        sample,
        serve,
        spark,
    )

    app()
