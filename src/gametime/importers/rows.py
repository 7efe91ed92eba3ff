"""Converting a source row by row: a row that cannot be used is reported and
skipped, so one bad row never stops an import."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from gametime.errors import InvalidInput
from gametime.importers.records import Record
from gametime.importers.report import ImportReport, SourcedEvent

RowConverter = Callable[[Record], list[dict[str, object]]]


def convert_rows(
    records: Iterable[Record], convert: RowConverter, report: ImportReport
) -> Iterator[SourcedEvent]:
    for record in records:
        report.rows += 1
        if record.problem is not None:
            report.invalid(record.line, record.problem)
            continue
        try:
            events = convert(record)
        except InvalidInput as exc:
            report.invalid(record.line, str(exc))
            continue
        report.events += len(events)
        for event in events:
            yield SourcedEvent(record.line, event)
