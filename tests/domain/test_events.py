"""Validating one event: ids, the time it names, and how far ahead it may be."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from gametime.domain.clock import FixedClock
from gametime.domain.events import MAX_ID_LENGTH, Event, EventParser, validate_id
from gametime.errors import InvalidEvent

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SKEW_S = 300
# 2024-07-17 12:00:00 in Ho Chi Minh City.
NOW_US = int(datetime(2024, 7, 17, 5, 0, tzinfo=UTC).timestamp()) * 1_000_000
NOW_MS = NOW_US // 1_000
# Passed as a field's value to leave the field out of the event.
OMITTED = object()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW_US)


@pytest.fixture
def parser(clock: FixedClock) -> EventParser:
    return EventParser(HCM, clock, SKEW_S)


def event(**fields: object) -> dict[str, object]:
    item: dict[str, object] = {
        "user_id": "u1",
        "game_id": "g1",
        "role_id": "r1",
        "event_time": "2024-07-17T10:15:00+07:00",
    }
    item.update(fields)
    return {key: value for key, value in item.items() if value is not OMITTED}


def rejection(parser: EventParser, item: object) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as caught:
        parser.parse(item)
    return caught.value


def test_valid_event_keeps_ids_instant_and_original_time_text(
    parser: EventParser,
) -> None:
    parsed = parser.parse(event())
    assert parsed == Event(
        user_id="u1",
        game_id="g1",
        role_id="r1",
        instant_us=NOW_US - (1 * 3_600 + 45 * 60) * 1_000_000,
        event_time="2024-07-17T10:15:00+07:00",
    )


def test_epoch_millisecond_time_is_kept_as_its_decimal_text(
    parser: EventParser,
) -> None:
    parsed = parser.parse(event(event_time=NOW_MS))
    assert (parsed.instant_us, parsed.event_time) == (NOW_US, str(NOW_MS))


@pytest.mark.parametrize("role", [OMITTED, None, ""])
def test_missing_or_empty_role_is_none(parser: EventParser, role: object) -> None:
    assert parser.parse(event(role_id=role)).role_id is None


def test_replays_share_a_key_and_the_role_is_part_of_it(parser: EventParser) -> None:
    first = parser.parse(event())
    assert parser.parse(event()).key == first.key
    assert parser.parse(event(role_id="r2")).key != first.key
    no_role = parser.parse(event(role_id=None))
    assert no_role.key == ("u1", "g1", "", first.instant_us)


@pytest.mark.parametrize(
    "identifier",
    [
        "a",
        "user:42",
        "*",
        "{user}",
        "user 42",
        "  ",
        "người chơi",
        "玩家",
        "🎮👾",
        "a\tb",
        "'; DROP TABLE users; --",
        "x" * MAX_ID_LENGTH,
        "🎮" * MAX_ID_LENGTH,
    ],
)
@pytest.mark.parametrize("field", ["user_id", "game_id", "role_id"])
def test_any_characters_are_accepted_in_ids(
    parser: EventParser, field: str, identifier: str
) -> None:
    parsed = parser.parse(event(**{field: identifier}))
    assert getattr(parsed, field) == identifier


@pytest.mark.parametrize(
    ("number", "text"), [(42, "42"), (0, "0"), (-7, "-7"), (2**63, str(2**63))]
)
@pytest.mark.parametrize("field", ["user_id", "game_id", "role_id"])
def test_integer_ids_become_decimal_strings(
    parser: EventParser, field: str, number: int, text: str
) -> None:
    assert getattr(parser.parse(event(**{field: number})), field) == text


@pytest.mark.parametrize("value", [True, False, 1.5, 42.0, ["u1"], {"id": "u1"}, b"u1"])
@pytest.mark.parametrize("field", ["user_id", "game_id", "role_id"])
def test_ids_of_other_types_are_rejected_naming_the_field(
    parser: EventParser, field: str, value: object
) -> None:
    error = rejection(parser, event(**{field: value}))
    assert error.field == field
    assert type(value).__name__ in error.message


@pytest.mark.parametrize("field", ["user_id", "game_id"])
def test_null_required_id_is_rejected_naming_the_field(
    parser: EventParser, field: str
) -> None:
    assert rejection(parser, event(**{field: None})).field == field


@pytest.mark.parametrize("field", ["user_id", "game_id"])
def test_empty_required_id_is_rejected_naming_the_field(
    parser: EventParser, field: str
) -> None:
    error = rejection(parser, event(**{field: ""}))
    assert (error.field, error.message) == (field, "must not be empty")


@pytest.mark.parametrize("field", ["user_id", "game_id", "role_id"])
def test_id_of_129_characters_is_rejected_naming_field_and_length(
    parser: EventParser, field: str
) -> None:
    error = rejection(parser, event(**{field: "x" * (MAX_ID_LENGTH + 1)}))
    assert error.field == field
    assert "129 characters" in error.message


@pytest.mark.parametrize("field", ["user_id", "game_id", "role_id"])
def test_integer_id_longer_than_the_limit_is_rejected(
    parser: EventParser, field: str
) -> None:
    error = rejection(parser, event(**{field: 10**MAX_ID_LENGTH}))
    assert error.field == field
    assert "129 characters" in error.message


@pytest.mark.parametrize("field", ["user_id", "game_id", "event_time"])
def test_missing_required_field_is_rejected_naming_it(
    parser: EventParser, field: str
) -> None:
    error = rejection(parser, event(**{field: OMITTED}))
    assert (error.field, error.message) == (field, "is required")


@pytest.mark.parametrize("item", [[], "event", 42, None, ["u1", "g1"]])
def test_item_that_is_not_an_object_is_rejected_as_event(
    parser: EventParser, item: object
) -> None:
    error = rejection(parser, item)
    assert error.field == "event"
    assert type(item).__name__ in error.message


def test_bad_event_time_is_rejected_naming_event_time(parser: EventParser) -> None:
    error = rejection(parser, event(event_time="yesterday"))
    assert error.field == "event_time"
    assert "'yesterday'" in error.message


def test_event_at_the_future_skew_bound_is_accepted(parser: EventParser) -> None:
    bound_ms = NOW_MS + SKEW_S * 1_000
    assert parser.parse(event(event_time=bound_ms)).instant_us == bound_ms * 1_000


def test_event_a_microsecond_past_the_skew_bound_is_rejected(
    parser: EventParser,
) -> None:
    error = rejection(parser, event(event_time="2024-07-17T12:05:00.000001+07:00"))
    assert error.field == "event_time"
    assert "2024-07-17T12:05:00.000001+07:00" in error.message
    assert f"{SKEW_S} s ahead" in error.message


def test_old_and_late_events_are_accepted(parser: EventParser) -> None:
    assert parser.parse(event(event_time="2020-01-01T00:00:00Z")).instant_us > 0
    assert parser.parse(event(event_time=0)).instant_us == 0


def test_skew_is_judged_against_the_clock_as_it_moves(
    parser: EventParser, clock: FixedClock
) -> None:
    ahead_ms = NOW_MS + SKEW_S * 1_000 + 60_000
    rejection(parser, event(event_time=ahead_ms))
    clock.advance(60)
    assert parser.parse(event(event_time=ahead_ms)).instant_us == ahead_ms * 1_000


def test_given_receive_time_overrides_the_clock(parser: EventParser) -> None:
    later_us = NOW_US + 3_600 * 1_000_000
    item = event(event_time=later_us // 1_000)
    assert parser.parse(item, now_us=later_us).instant_us == later_us
    with pytest.raises(InvalidEvent):
        parser.parse(item, now_us=NOW_US)


def test_zero_skew_accepts_now_and_rejects_the_next_microsecond(
    clock: FixedClock,
) -> None:
    strict = EventParser(HCM, clock, 0)
    assert strict.parse(event(event_time=NOW_MS)).instant_us == NOW_US
    with pytest.raises(InvalidEvent):
        strict.parse(event(event_time="2024-07-17T12:00:00.000001+07:00"))


def test_far_future_event_is_rejected_not_a_crash(parser: EventParser) -> None:
    # Once, these crashed while formatting the message: year 10000 in local time.
    for far in (
        "9999-12-31T23:59:59Z",
        "9999-12-31T20:00:00-23:59",
        253_402_300_799_999,
    ):
        assert rejection(parser, event(event_time=far)).field == "event_time"


@pytest.mark.parametrize("identifier", ["user:1", "🎮", "x" * MAX_ID_LENGTH])
def test_validate_id_accepts_what_events_accept(identifier: str) -> None:
    assert validate_id("user_id", identifier) == identifier


@pytest.mark.parametrize("identifier", ["", "x" * (MAX_ID_LENGTH + 1)])
def test_validate_id_rejects_naming_the_parameter(identifier: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        validate_id("game_id", identifier)
    assert caught.value.field == "game_id"
