"""What the tools print: progress on stderr, a summary on stdout, errors in red.

Data may go to stdout (`generate --out -`), so progress, warnings and errors always
go to stderr. A summary is human-readable text, or one JSON object with --json.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

import orjson
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

# Exit codes shared by the tools.
EXIT_DELIVERY_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_REJECTED = 3  # with --strict: something was not counted

_POSITIONS = frozenset({"line", "item"})


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    typer.secho(f"warning: {message}", fg="yellow", err=True)


def progress_bar(quiet: bool) -> Progress:
    """Bytes read against the input's size, with the counts so far as the text."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=quiet,
    )


def emit_summary(summary: Mapping[str, object], as_json: bool) -> None:
    if as_json:
        typer.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
        return
    width = max(len(key) for key in summary)
    for key, value in summary.items():
        if isinstance(value, list):
            _emit_list(key, value)
        elif isinstance(value, int):
            typer.echo(f"{key.replace('_', ' '):<{width}}  {value:>12,}")
        else:
            typer.echo(f"{key.replace('_', ' '):<{width}}  {value}")


def _emit_list(key: str, values: list[object]) -> None:
    if not values:
        return
    if not all(isinstance(value, Mapping) for value in values):
        typer.echo(f"{key.replace('_', ' ')}: {', '.join(map(str, values))}")
        return
    typer.echo(f"{key.replace('_', ' ')}:")
    for value in values:
        assert isinstance(value, Mapping)
        typer.echo("  " + ": ".join(_part(name, part) for name, part in value.items()))


def _part(name: str, value: object) -> str:
    # Positions read as "line 12"; the other parts speak for themselves.
    return f"{name} {value}" if name in _POSITIONS else str(value)
