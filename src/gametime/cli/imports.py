"""`gametime import ...`: the group of importers, and what they share.

Each importer reads a file row by row, converts rows to events and sends them in
batches, to the backend in process or with --url to a running service. Naive times
are read in --source-timezone, by default the service's zone.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import typer

from gametime.cli.main import app
from gametime.cli.output import EXIT_REJECTED, emit_summary, fail
from gametime.cli.sending import InputProgress, SendOptions, delivery_summary, send_all
from gametime.errors import InvalidInput
from gametime.importers.records import Record, SourceFormat, detect_format, read_records
from gametime.importers.report import ImportReport, SourcedEvent
from gametime.importers.source_time import TimeReader, load_zone
from gametime.settings import Settings

import_app = typer.Typer(
    help="Import sessions or presence sightings as events.", no_args_is_help=True
)
app.add_typer(import_app, name="import")

Converter = Callable[[Iterable[Record], ImportReport], Iterator[SourcedEvent]]

# Options both importers take.
URL = typer.Option(
    None, help="Send to a running service at this base URL (default: in process)"
)
USER_PREFIX = typer.Option("", help="Prepended to every user id, e.g. 'wowah:'")
GAME = typer.Option(None, help="One game id for every row")
GAME_COLUMN = typer.Option(None, help="Column holding the game id")
TIME_FORMAT = typer.Option(
    None, help="strptime format of the times, e.g. '%d/%m/%Y %H:%M' (default: ISO-8601)"
)
SOURCE_TIMEZONE = typer.Option(
    None, help="IANA zone of times without offset (default: GAMETIME_TIMEZONE)"
)
SOURCE_FORMAT = typer.Option(
    None, "--format", help="csv or jsonl (default: by the file's extension)"
)


def time_reader(
    settings: Settings, time_format: str | None, source_timezone: str | None
) -> TimeReader:
    zone: ZoneInfo = settings.zone
    if source_timezone is not None:
        try:
            zone = load_zone(source_timezone)
        except InvalidInput as exc:
            fail(str(exc))
    return TimeReader(zone, time_format)


def run_import(
    path: Path,
    source_format: SourceFormat | None,
    columns: list[str],
    convert: Converter,
    options: SendOptions,
    settings: Settings,
) -> tuple[ImportReport, dict[str, object]]:
    """Read, convert and send the file; the report and the delivery's summary."""
    report = ImportReport()
    with _records(path, source_format, columns) as (records, progress):
        delivery = send_all(convert(records, report), options, settings, progress)
    return report, delivery_summary(delivery, "line")


@contextmanager
def _records(
    path: Path, source_format: SourceFormat | None, columns: list[str]
) -> Iterator[tuple[Iterator[Record], InputProgress]]:
    try:
        chosen = detect_format(str(path), source_format)
        binary = open(path, "rb")  # noqa: SIM115  (closed below)
    except (InvalidInput, OSError) as exc:
        fail(f"cannot read {str(path)!r}: {exc}")
    with binary, io.TextIOWrapper(binary, encoding="utf-8-sig", newline="") as text:
        try:
            records = read_records(text, chosen, columns)
        except (InvalidInput, UnicodeError) as exc:
            fail(f"cannot read {str(path)!r}: {exc}")
        total = os.fstat(binary.fileno()).st_size
        yield records, InputProgress(str(path), total, binary.tell)


def finish(
    path: Path,
    report: ImportReport,
    delivery: dict[str, object],
    extra: dict[str, object],
    as_json: bool,
    strict: bool,
) -> None:
    """Print the summary; with --strict, exit 3 when anything was not counted."""
    summary: dict[str, object] = {
        "file": str(path),
        "rows_read": report.rows,
        "invalid_rows": report.invalid_rows,
        **extra,
        "events_produced": report.events,
        **delivery,
        "first_invalid_rows": [
            {"line": problem.line, "reason": problem.reason}
            for problem in report.invalid_examples
        ],
    }
    emit_summary(summary, as_json)
    if strict and (report.invalid_rows or delivery["rejected"]):
        raise typer.Exit(EXIT_REJECTED)
