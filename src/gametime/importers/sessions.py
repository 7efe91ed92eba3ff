"""Play sessions (user, start, end) as events: one per minute the session covers.

A session covers every minute it overlaps for a positive time, the end being
exclusive: 10:00:30 to 10:02:00 covers 10:00 and 10:01. A zero-length session
covers its start minute. A session without an end covers its start minute too and
is reported, since its real length is unknown. The first event is at the start
instant and the others at the start of their minute, so each lands in its minute.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from gametime.domain.event_time import US_PER_MINUTE
from gametime.errors import InvalidInput
from gametime.importers.identity import Identity
from gametime.importers.records import Record, text_value
from gametime.importers.report import ImportReport, SourcedEvent
from gametime.importers.rows import convert_rows
from gametime.importers.source_time import TimeReader, format_us, instant_us

logger = logging.getLogger(__name__)

DEFAULT_MAX_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class SessionImport:
    identity: Identity
    times: TimeReader
    start_column: str = "start_time"
    end_column: str = "end_time"
    # A longer session is more likely a broken row than play, and would turn into
    # a flood of events; it is reported instead.
    max_minutes: int = DEFAULT_MAX_MINUTES

    def columns(self) -> list[str]:
        return [*self.identity.columns(), self.start_column, self.end_column]


def covered_minutes(start_us: int, end_us: int | None) -> range:
    """The epoch minutes (instant // 1 min) a session covers."""
    first = start_us // US_PER_MINUTE
    if end_us is None or end_us == start_us:
        return range(first, first + 1)
    return range(first, (end_us - 1) // US_PER_MINUTE + 1)


def session_events(
    records: Iterable[Record], spec: SessionImport, report: ImportReport
) -> Iterator[SourcedEvent]:
    def convert(record: Record) -> list[dict[str, object]]:
        return _session(record, spec, report)

    return convert_rows(records, convert, report)


def _session(
    record: Record, spec: SessionImport, report: ImportReport
) -> list[dict[str, object]]:
    ids = spec.identity.of(record)
    start = _read(record, spec.start_column, spec.times)
    end_text = text_value(record, spec.end_column)
    end = spec.times.read(end_text, spec.end_column) if end_text else None
    minutes = _checked_minutes(start, end, spec)
    if end is None:
        report.open_session(record.line)
    start_us = instant_us(start)
    zone = start.tzinfo
    assert zone is not None  # TimeReader returns aware datetimes
    times = [format_us(start_us, zone)]
    times.extend(format_us(minute * US_PER_MINUTE, zone) for minute in minutes[1:])
    return [{**ids, "event_time": text} for text in times]


def _read(record: Record, column: str, times: TimeReader) -> datetime:
    text = text_value(record, column)
    if not text:
        raise InvalidInput(column, "is empty; every session needs a start")
    return times.read(text, column)


def _checked_minutes(
    start: datetime, end: datetime | None, spec: SessionImport
) -> range:
    if end is not None and end < start:
        raise InvalidInput(
            spec.end_column,
            f"{end.isoformat()!r} is before the start {start.isoformat()!r}",
        )
    end_us = None if end is None else instant_us(end)
    minutes = covered_minutes(instant_us(start), end_us)
    if len(minutes) > spec.max_minutes:
        raise InvalidInput(
            spec.end_column,
            f"the session lasts {len(minutes)} minutes, at most {spec.max_minutes} "
            "accepted (see --max-session-minutes)",
        )
    return minutes
