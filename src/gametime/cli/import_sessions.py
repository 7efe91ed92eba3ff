"""`gametime import sessions`: play sessions (user, start, end) as events."""

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
from gametime.importers.records import Record, SourceFormat
from gametime.importers.report import ImportReport, SourcedEvent
from gametime.importers.sessions import (
    DEFAULT_MAX_MINUTES,
    SessionImport,
    session_events,
)


@import_app.command("sessions")
def import_sessions(
    file: Path = typer.Argument(..., help="CSV or JSON-lines file of sessions"),
    user_column: str = typer.Option("user_id", help="Column holding the user id"),
    start_column: str = typer.Option("start_time", help="Column of session starts"),
    end_column: str = typer.Option(
        "end_time", help="Column of session ends (exclusive; may be empty)"
    ),
    game_column: str | None = GAME_COLUMN,
    game: str | None = GAME,
    role: str | None = typer.Option(None, help="One role id for every session"),
    time_format: str | None = TIME_FORMAT,
    source_timezone: str | None = SOURCE_TIMEZONE,
    source_format: SourceFormat | None = SOURCE_FORMAT,
    user_prefix: str = USER_PREFIX,
    max_session_minutes: int = typer.Option(
        DEFAULT_MAX_MINUTES, min=1, help="Longer sessions are reported, not imported"
    ),
    url: str | None = URL,
    api_key: str | None = API_KEY,
    batch_size: int = BATCH_SIZE,
    retries: int = RETRIES,
    retry_delay: float = RETRY_DELAY,
    quiet: bool = QUIET,
    as_json: bool = AS_JSON,
    strict: bool = STRICT,
) -> None:
    """One event per minute each session covers; sessions without end count 1."""
    settings = settings_or_exit()
    configure_logging(settings)
    try:
        identity = Identity(
            user_column, game_column, game, role=role, user_prefix=user_prefix
        )
    except InvalidInput as exc:
        fail(str(exc))
    spec = SessionImport(
        identity,
        time_reader(settings, time_format, source_timezone),
        start_column,
        end_column,
        max_session_minutes,
    )

    def convert(
        records: Iterable[Record], report: ImportReport
    ) -> Iterator[SourcedEvent]:
        return session_events(records, spec, report)

    options = SendOptions(url, api_key, batch_size, retries, retry_delay, quiet)
    report, delivery = run_import(
        file, source_format, spec.columns(), convert, options, settings
    )
    extra: dict[str, object] = {"sessions_without_end": report.open_sessions}
    delivery["sessions_without_end_lines"] = report.open_session_lines
    finish(file, report, delivery, extra, as_json, strict)
