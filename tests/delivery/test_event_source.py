"""Reading events from bytes: JSON lines in any chunking, or one JSON array."""

from __future__ import annotations

import pytest

from gametime.delivery.event_source import EventSource, split_lines
from gametime.delivery.report import LineRejection
from gametime.errors import InvalidInput
from gametime.importers.report import SourcedEvent


def test_lines_are_whole_whatever_the_chunks() -> None:
    chunks = [b'{"a":', b"1}\n", b'{"b":2}\r\n\n{"c"', b":3}"]

    assert list(split_lines(chunks)) == [b'{"a":1}', b'{"b":2}\r', b"", b'{"c":3}']


def test_json_lines_are_numbered_and_bad_lines_kept_as_rejections() -> None:
    source = EventSource([b'{"a":1}\n\nnot json\n{"b":2}\n'])

    read = list(source)

    assert read[0] == SourcedEvent(1, {"a": 1})
    assert isinstance(read[1], LineRejection)
    assert (read[1].line, read[1].field) == (3, "event")
    assert read[1].reason.startswith("not valid JSON")
    assert read[2] == SourcedEvent(4, {"b": 2})
    assert source.unit == "line"


def test_a_json_array_is_read_whole_and_numbered_by_item() -> None:
    source = EventSource([b"  \n", b'[{"a":1},', b' {"b":2}]'])

    assert list(source) == [SourcedEvent(1, {"a": 1}), SourcedEvent(2, {"b": 2})]
    assert source.unit == "item"


def test_a_broken_array_is_an_error_of_the_whole_input() -> None:
    with pytest.raises(InvalidInput, match="not a valid JSON array"):
        list(EventSource([b'[{"a":1}']))


def test_an_empty_input_has_no_events() -> None:
    assert list(EventSource([])) == []
