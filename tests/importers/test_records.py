"""Tabular sources: telling their format and numbering their lines."""

from __future__ import annotations

import io

import pytest

from gametime.errors import InvalidInput
from gametime.importers.records import SourceFormat, detect_format, read_records


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("s.csv", SourceFormat.CSV),
        ("S.CSV", SourceFormat.CSV),
        ("s.jsonl", SourceFormat.JSONL),
        ("s.ndjson", SourceFormat.JSONL),
    ],
)
def test_the_format_follows_the_extension(path: str, expected: SourceFormat) -> None:
    assert detect_format(path, None) is expected


def test_an_unknown_extension_asks_for_format() -> None:
    with pytest.raises(InvalidInput, match="give --format csv or --format jsonl"):
        detect_format("sessions.txt", None)


def test_a_given_format_wins_over_the_extension() -> None:
    assert detect_format("sessions.txt", SourceFormat.CSV) is SourceFormat.CSV


def test_csv_lines_count_the_header_and_quoted_newlines() -> None:
    text = 'a,b\n1,"two\nlines"\n\n3,4\n'

    records = list(read_records(io.StringIO(text), SourceFormat.CSV, ["a"]))

    assert [(r.line, dict(r.fields)) for r in records] == [
        (3, {"a": "1", "b": "two\nlines"}),
        (5, {"a": "3", "b": "4"}),
    ]
