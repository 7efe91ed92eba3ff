"""Presence sightings (user seen online at a time) as events: one per row.

Sightings from periodic sweeps are sparse (WoWAH's come about every ten minutes);
each counts exactly the minute it was seen in. Filling the gaps between sightings
would be a guess about play the source did not record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gametime.errors import InvalidInput
from gametime.importers.identity import Identity
from gametime.importers.records import Record, text_value
from gametime.importers.report import ImportReport, SourcedEvent
from gametime.importers.rows import convert_rows
from gametime.importers.source_time import TimeReader, format_us, instant_us

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PresenceImport:
    identity: Identity
    times: TimeReader
    time_column: str = "event_time"

    def columns(self) -> list[str]:
        return [*self.identity.columns(), self.time_column]


def presence_events(
    records: Iterable[Record], spec: PresenceImport, report: ImportReport
) -> Iterator[SourcedEvent]:
    def convert(record: Record) -> list[dict[str, object]]:
        return [_sighting(record, spec)]

    return convert_rows(records, convert, report)


def _sighting(record: Record, spec: PresenceImport) -> dict[str, object]:
    ids = spec.identity.of(record)
    text = text_value(record, spec.time_column)
    if not text:
        raise InvalidInput(spec.time_column, "is empty; every sighting needs a time")
    seen = spec.times.read(text, spec.time_column)
    assert seen.tzinfo is not None  # TimeReader returns aware datetimes
    return {**ids, "event_time": format_us(instant_us(seen), seen.tzinfo)}
