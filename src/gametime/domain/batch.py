"""Decoding a body of events: one JSON object, a JSON array, or JSON lines.

A body that cannot be split into items at all (a broken array, an empty body) is an
error of the whole request. Once split, each item stands alone: a line that is not
JSON, or an item that is not a valid event, becomes a Rejection while the others of
the batch are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from gametime.domain.events import Event, EventParser, Rejection
from gametime.errors import InvalidEvent, InvalidInput


class TooManyEvents(InvalidInput):
    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            "body", f"holds {count} events, at most {limit} accepted per batch"
        )


@dataclass(frozen=True, slots=True)
class Undecodable:
    """An item of a JSON-lines body that is not JSON."""

    source: str
    reason: str


@dataclass
class ParsedBatch:
    events: list[Event] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def split_body(body: bytes, max_items: int) -> list[object]:
    """The body's items in order; an undecodable JSON line is an `Undecodable`."""
    text = body.lstrip()
    if not text:
        raise InvalidInput("body", "is empty; send a JSON object, array or JSON lines")
    items = _split(text)
    if len(items) > max_items:
        raise TooManyEvents(len(items), max_items)
    return items


def _split(text: bytes) -> list[object]:
    if text[:1] == b"[":
        try:
            decoded = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput("body", f"is not a valid JSON array: {exc}") from exc
        if not isinstance(decoded, list):
            raise InvalidInput("body", "is not a valid JSON array")
        return decoded
    try:
        return [orjson.loads(text)]
    except orjson.JSONDecodeError:
        pass
    items = [_decode_line(line) for line in text.splitlines() if line.strip()]
    if all(isinstance(item, Undecodable) for item in items):
        first = items[0]
        assert isinstance(first, Undecodable)
        raise InvalidInput("body", f"is not JSON: {first.reason}")
    return items


def _decode_line(line: bytes) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Undecodable(line.decode("utf-8", "replace"), f"not valid JSON: {exc}")


def parse_items(
    items: list[object], parser: EventParser, received_us: int
) -> ParsedBatch:
    """Validate every item; one bad item never costs the others."""
    batch = ParsedBatch()
    for index, item in enumerate(items):
        if isinstance(item, Undecodable):
            batch.rejections.append(
                Rejection(index, "event", item.reason, item.source, received_us)
            )
            continue
        try:
            batch.events.append(parser.parse(item, received_us))
        except InvalidEvent as exc:
            batch.rejections.append(
                Rejection(index, exc.field, exc.message, _source(item), received_us)
            )
    return batch


def _source(item: object) -> str:
    try:
        return orjson.dumps(item).decode()
    except TypeError:
        return repr(item)
