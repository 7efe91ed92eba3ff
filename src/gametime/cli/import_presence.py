"""`gametime import presence`: "seen online at" sightings, one event each."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import typer

from gametime.cli.imports import (
    GAME,
    GAME_COLUMN,
    SOURCE_FORMAT,
    SOURCE_TIMEZONE,
    TIME_FORMAT,
    URL,
    USER_PREFIX,
    finish,
    import_app,
    run_import,
    time_reader,
)
from gametime.cli.main import configure_logging, settings_or_exit
from gametime.cli.output import fail
from gametime.cli.sending import (
    API_KEY,
    AS_JSON,
    BATCH_SIZE,
    QUIET,
    RETRIES,
    RETRY_DELAY,
    STRICT,
    SendOptions,
)
from gametime.errors import InvalidInput
from gametime.importers.identity import Identity
from gametime.importers.presence import PresenceImport, presence_events
from gametime.importers.records import Record, SourceFormat
from gametime.importers.report import ImportReport, SourcedEvent


@import_app.command("presence")
def import_presence(
    file: Path = typer.Argument(..., help="CSV or JSON-lines file of sightings"),
    user_column: str = typer.Option("user_id", help="Column holding the user id"),
    time_column: str = typer.Option("event_time", help="Column of sighting times"),
    game_column: str | None = GAME_COLUMN,
    game: str | None = GAME,
    role_column: str | None = typer.Option(None, help="Column holding the role id"),
    role: str | None = typer.Option(None, help="One role id for every sighting"),
    time_format: str | None = TIME_FORMAT,
    source_timezone: str | None = SOURCE_TIMEZONE,
    source_format: SourceFormat | None = SOURCE_FORMAT,
    user_prefix: str = USER_PREFIX,
    url: str | None = URL,
    api_key: str | None = API_KEY,
    batch_size: int = BATCH_SIZE,
    retries: int = RETRIES,
    retry_delay: float = RETRY_DELAY,
    quiet: bool = QUIET,
    as_json: bool = AS_JSON,
    strict: bool = STRICT,
) -> None:
    """One event per row, at the time the user was seen online."""
    settings = settings_or_exit()
    configure_logging(settings)
    try:
        identity = Identity(
            user_column, game_column, game, role_column, role, user_prefix
        )
    except InvalidInput as exc:
        fail(str(exc))
    spec = PresenceImport(
        identity, time_reader(settings, time_format, source_timezone), time_column
    )

    def convert(
        records: Iterable[Record], report: ImportReport
    ) -> Iterator[SourcedEvent]:
        return presence_events(records, spec, report)

    options = SendOptions(url, api_key, batch_size, retries, retry_delay, quiet)
    report, delivery = run_import(
        file, source_format, spec.columns(), convert, options, settings
    )
    finish(file, report, delivery, {}, as_json, strict)
