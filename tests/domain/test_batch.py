"""Splitting a request body into items and validating them one by one."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import orjson
import pytest

from gametime.domain.batch import (
    ParsedBatch,
    TooManyEvents,
    Undecodable,
    parse_items,
    split_body,
)
from gametime.domain.clock import FixedClock
from gametime.domain.events import EventParser
from gametime.errors import InvalidInput

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW_US = int(datetime(2024, 7, 17, 5, 0, tzinfo=UTC).timestamp()) * 1_000_000
LIMIT = 100


def item(user: str = "u1", time: str = "2024-07-17T10:15:00+07:00") -> bytes:
    return orjson.dumps({"user_id": user, "game_id": "g1", "event_time": time})


def parse(body: bytes, max_items: int = LIMIT) -> ParsedBatch:
    parser = EventParser(HCM, FixedClock(NOW_US), 300)
    return parse_items(split_body(body, max_items), parser, NOW_US)


def users(batch: ParsedBatch) -> list[str]:
    return [event.user_id for event in batch.events]


def body_error(body: bytes, max_items: int = LIMIT) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        split_body(body, max_items)
    assert caught.value.field == "body"
    return caught.value


def test_one_object_is_one_event() -> None:
    batch = parse(item())
    assert (users(batch), batch.rejections) == (["u1"], [])


def test_one_object_with_surrounding_whitespace_is_one_event() -> None:
    assert users(parse(b"\n  " + item() + b"\n\n")) == ["u1"]


def test_array_items_are_events_in_order() -> None:
    body = b"[" + b",".join(item(user) for user in ("a", "b", "c")) + b"]"
    assert users(parse(body)) == ["a", "b", "c"]


def test_json_lines_are_events_in_order() -> None:
    body = b"\n".join(item(user) for user in ("a", "b", "c")) + b"\n"
    assert users(parse(body)) == ["a", "b", "c"]


def test_json_lines_accept_crlf_and_skip_blank_lines() -> None:
    body = item("a") + b"\r\n\r\n   \n" + item("b") + b"\r\n"
    assert users(parse(body)) == ["a", "b"]


def test_bad_json_line_is_rejected_with_its_index_while_others_are_accepted() -> None:
    body = b"\n".join([item("a"), b'{"user_id": "b", oops', item("c")])
    batch = parse(body)
    assert users(batch) == ["a", "c"]
    [bad] = batch.rejections
    assert (bad.index, bad.field) == (1, "event")
    assert bad.source == '{"user_id": "b", oops'
    assert bad.reason.startswith("not valid JSON")
    assert bad.received_us == NOW_US


def test_invalid_utf8_line_is_rejected_alone() -> None:
    batch = parse(b"\n".join([item("a"), b'{"user_id": "\xff\xfe"}']))
    assert users(batch) == ["a"]
    assert [rejection.index for rejection in batch.rejections] == [1]


def test_invalid_event_in_a_batch_is_rejected_with_its_field_and_source() -> None:
    wrong = {"user_id": "b", "game_id": "g1", "event_time": "soon"}
    body = orjson.dumps([orjson.loads(item("a")), wrong, orjson.loads(item("c"))])
    batch = parse(body)
    assert users(batch) == ["a", "c"]
    [bad] = batch.rejections
    assert (bad.index, bad.field) == (1, "event_time")
    assert orjson.loads(bad.source) == wrong
    assert "'soon'" in bad.reason


@pytest.mark.parametrize("element", [b"42", b'"text"', b"null", b"[1, 2]", b"true"])
def test_array_element_that_is_not_an_object_is_a_rejection(element: bytes) -> None:
    batch = parse(b"[" + item("a") + b"," + element + b"]")
    assert users(batch) == ["a"]
    [bad] = batch.rejections
    assert (bad.index, bad.field) == (1, "event")
    assert orjson.loads(bad.source) == orjson.loads(element)


def test_json_line_that_is_not_an_object_is_a_rejection() -> None:
    batch = parse(item("a") + b"\n[1, 2]\n" + item("c"))
    assert users(batch) == ["a", "c"]
    assert [(bad.index, bad.field) for bad in batch.rejections] == [(1, "event")]


def test_lone_value_that_is_not_an_object_is_a_rejection() -> None:
    batch = parse(b"42")
    assert batch.events == []
    assert [(bad.index, bad.field) for bad in batch.rejections] == [(0, "event")]


def test_every_line_bad_is_an_error_of_the_body() -> None:
    error = body_error(b"not json\nnor this\n{broken")
    assert "is not JSON" in error.message


def test_single_bad_line_is_an_error_of_the_body() -> None:
    body_error(b"hello")


@pytest.mark.parametrize(
    "body", [b"[", b"[" + item() + b",", b"[" + item() + b"] trailing", b"[1,]"]
)
def test_broken_array_is_an_error_of_the_body(body: bytes) -> None:
    assert "not a valid JSON array" in body_error(body).message


@pytest.mark.parametrize("body", [b"", b"   ", b"\n\r\n\t"])
def test_empty_body_is_an_error_of_the_body(body: bytes) -> None:
    assert "empty" in body_error(body).message


def test_empty_array_is_an_empty_batch() -> None:
    assert parse(b"[]") == ParsedBatch()


@pytest.mark.parametrize(
    "body",
    [
        b"[" + b",".join([item()] * 4) + b"]",
        b"\n".join([item()] * 4),
    ],
)
def test_too_many_items_is_an_error_naming_the_limit(body: bytes) -> None:
    error = body_error(body, max_items=3)
    assert isinstance(error, TooManyEvents)
    assert "holds 4 events" in error.message
    assert "at most 3" in error.message


def test_exactly_the_limit_is_accepted() -> None:
    assert len(split_body(b"\n".join([item()] * 3), max_items=3)) == 3


def test_split_body_keeps_undecodable_lines_in_place() -> None:
    items = split_body(item("a") + b"\n!!\n", LIMIT)
    assert isinstance(items[1], Undecodable)
    assert items[1].source == "!!"


def test_items_given_directly_that_json_cannot_show_are_kept_by_repr() -> None:
    parser = EventParser(HCM, FixedClock(NOW_US), 300)
    batch = parse_items([{1, 2}], parser, NOW_US)
    assert [bad.source for bad in batch.rejections] == ["{1, 2}"]
