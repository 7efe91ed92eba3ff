"""Reading events in the reference shape from a byte stream: JSON lines, or one
JSON array.

JSON lines are read as they arrive, so a file or download of any size streams
through. An array has to be read whole; its items are numbered from 1. A line that
is not JSON is kept as a `LineRejection` so the summary can name it.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator

import orjson

from gametime.delivery.report import LineRejection
from gametime.errors import InvalidInput
from gametime.importers.report import SourcedEvent

logger = logging.getLogger(__name__)


class EventSource:
    """Iterating yields each event with its position; `unit` names the position."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = iter(chunks)
        self.unit = "line"

    def __iter__(self) -> Iterator[SourcedEvent | LineRejection]:
        head = b""
        for chunk in self.chunks:
            head += chunk
            if head.strip():
                break
        if head.lstrip()[:1] == b"[":
            self.unit = "item"
            return _array_items(head + b"".join(self.chunks))
        return _json_lines(itertools.chain([head], self.chunks))


def _array_items(body: bytes) -> Iterator[SourcedEvent]:
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            "input", f"starts with '[' but is not a valid JSON array: {exc}"
        ) from exc
    if not isinstance(items, list):
        raise InvalidInput("input", "starts with '[' but is not a JSON array")
    return (SourcedEvent(number, item) for number, item in enumerate(items, 1))


def _json_lines(chunks: Iterable[bytes]) -> Iterator[SourcedEvent | LineRejection]:
    number = 0
    for line in split_lines(chunks):
        number += 1
        if not line.strip():
            continue
        try:
            yield SourcedEvent(number, orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            yield LineRejection(number, "event", f"not valid JSON: {exc}")


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Whole lines out of arbitrary chunks; the last line needs no newline."""
    partial = b""
    for chunk in chunks:
        lines = (partial + chunk).split(b"\n")
        partial = lines.pop()
        yield from lines
    if partial:
        yield partial
