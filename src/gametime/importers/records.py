"""Reading a tabular source (CSV with a header, or JSON lines) as numbered records.

Header names are stripped of surrounding spaces: real exports write `a, b, c`.
Line numbers count the CSV header as line 1, as an editor shows them; a quoted
field holding newlines makes a record span lines, and it is numbered by its last.
"""

from __future__ import annotations

import _csv
import csv
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath
from typing import TextIO

import orjson

from gametime.errors import InvalidInput

logger = logging.getLogger(__name__)

_EXTENSIONS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


class SourceFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


@dataclass(frozen=True, slots=True)
class Record:
    """One row; `problem` says why it could not be read at all (then no fields)."""

    line: int
    fields: Mapping[str, object]
    problem: str | None = None


def detect_format(path: str, given: SourceFormat | None) -> SourceFormat:
    if given is not None:
        return given
    suffix = PurePath(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise InvalidInput(
            "format",
            f"cannot tell the format of {path!r} from its extension {suffix!r}; "
            "give --format csv or --format jsonl",
        )
    return SourceFormat(_EXTENSIONS[suffix])


def read_records(
    text: TextIO, source_format: SourceFormat, required: Sequence[str]
) -> Iterator[Record]:
    """The source's records; a CSV header lacking a `required` column is an error.

    The CSV header is read and checked by this call, before any record.
    """
    if source_format is SourceFormat.CSV:
        return _csv_records(text, required)
    return _jsonl_records(text)


def _csv_records(text: TextIO, required: Sequence[str]) -> Iterator[Record]:
    reader = csv.reader(text)
    header = [name.strip() for name in next(reader, [])]
    if not header:
        raise InvalidInput("header", "the file is empty; expected a CSV header line")
    check_columns(header, required)
    return _csv_rows(reader, header)


def _csv_rows(reader: _csv.Reader, header: list[str]) -> Iterator[Record]:
    for row in reader:
        line = reader.line_num
        if not row or row == [""]:
            continue
        if len(row) != len(header):
            yield Record(line, {}, f"has {len(row)} fields, the header {len(header)}")
            continue
        yield Record(line, dict(zip(header, row, strict=True)))


def check_columns(header: Sequence[str], required: Sequence[str]) -> None:
    for name in required:
        if name not in header:
            raise InvalidInput("column", f"{name!r} not in header {list(header)!r}")


def _jsonl_records(text: TextIO) -> Iterator[Record]:
    for line, raw in enumerate(text, start=1):
        if not raw.strip():
            continue
        try:
            decoded = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield Record(line, {}, f"is not valid JSON: {exc}")
            continue
        if not isinstance(decoded, dict):
            kind = type(decoded).__name__
            yield Record(line, {}, f"is a JSON {kind}, expected an object")
            continue
        yield Record(line, decoded)


def text_value(record: Record, column: str) -> str:
    """The column's value as stripped text; '' when absent or null."""
    value = record.fields.get(column)
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)
