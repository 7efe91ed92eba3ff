"""Parsing `event_time`: what is accepted, what it means, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from gametime.domain.calendar import LocalCalendar
from gametime.domain.event_time import (
    LATEST_EPOCH_MS,
    format_instant,
    instant_datetime,
    parse_event_time,
)
from gametime.errors import InvalidEvent

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NEW_YORK = ZoneInfo("America/New_York")


def utc_us(*parts: int) -> int:
    """Microseconds since the epoch of a UTC wall time given as datetime parts."""
    moment = datetime(*parts, tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


# Written by code: ruff flags fullwidth digits typed into the source as confusable.
FULLWIDTH_DIGITS = str.maketrans("0123456789", "".join(map(chr, range(0xFF10, 0xFF1A))))

# 2024-07-17 10:15:00 in Ho Chi Minh City is 03:15:00 UTC.
MORNING_US = utc_us(2024, 7, 17, 3, 15)


@pytest.mark.parametrize(
    "text",
    [
        "2024-07-17T10:15:00+07:00",
        "2024-07-17 10:15:00+07:00",
        "2024-07-17T10:15:00+0700",
        "2024-07-17T10:15:00+07",
        "2024-07-17T03:15:00Z",
        "2024-07-17T03:15:00z",
        "2024-07-17 03:15:00Z",
        "2024-07-16T23:15:00-04:00",
        "2024-07-17T03:15:00+00:00",
        "2024-07-17T03:15:00-00:00",
        "2024-07-17T10:15+07:00",
        "2024-07-17T10:15:00",
        "2024-07-17T10:15",
        "2024-07-17 10:15",
    ],
)
def test_iso_forms_with_and_without_offset_name_the_same_instant(text: str) -> None:
    assert parse_event_time(text, HCM) == MORNING_US


def test_time_without_offset_is_wall_time_in_the_configured_zone() -> None:
    # 10:15 in New York in July is EDT (UTC-4): 14:15 UTC.
    assert parse_event_time("2024-07-17T10:15:00", NEW_YORK) == utc_us(
        2024, 7, 17, 14, 15
    )


def test_explicit_offset_ignores_the_configured_zone() -> None:
    text = "2024-07-17T10:15:00+07:00"
    assert parse_event_time(text, NEW_YORK) == parse_event_time(text, HCM)


@pytest.mark.parametrize(
    ("fraction", "micros"),
    [
        (".9", 900_000),
        (".5", 500_000),
        (",5", 500_000),
        (".000001", 1),
        (".123456", 123_456),
        (".1234567", 123_456),
        (".9999999", 999_999),
        (".999999999999999999", 999_999),
    ],
)
def test_fraction_digits_are_truncated_to_microseconds_never_rounded(
    fraction: str, micros: int
) -> None:
    instant = parse_event_time(f"2024-07-17T03:15:00{fraction}Z", HCM)
    assert instant == MORNING_US + micros


@pytest.mark.parametrize("fraction", ["", ".9", ".999999", ".9999999", ".99999999999"])
def test_last_second_with_any_fraction_stays_in_minute_23_59(fraction: str) -> None:
    instant = parse_event_time(f"2024-07-17T23:59:59{fraction}+07:00", HCM)
    day, minute = LocalCalendar(HCM).locate(instant)
    assert (day.isoformat(), minute) == ("2024-07-17", 1439)


def test_leap_second_is_read_as_second_59() -> None:
    leap = parse_event_time("2016-12-31T23:59:60Z", HCM)
    assert leap == parse_event_time("2016-12-31T23:59:59Z", HCM)


def test_leap_second_keeps_its_fraction_and_its_minute() -> None:
    leap = parse_event_time("2016-12-31T23:59:60.5Z", HCM)
    assert leap == utc_us(2016, 12, 31, 23, 59, 59, 500_000)


@pytest.mark.parametrize(
    ("value", "expected_us"),
    [
        (0, 0),
        (1_721_186_100_000, MORNING_US),
        ("1721186100000", MORNING_US),
        ("0", 0),
        ("0001721186100000", MORNING_US),
        (LATEST_EPOCH_MS, LATEST_EPOCH_MS * 1_000),
    ],
)
def test_epoch_milliseconds_as_integer_or_digit_string(
    value: object, expected_us: int
) -> None:
    assert parse_event_time(value, HCM) == expected_us


def test_ambiguous_wall_time_at_fall_back_is_its_first_occurrence() -> None:
    # 01:30 happens twice in New York on 2024-11-03: first in EDT (05:30 UTC).
    instant = parse_event_time("2024-11-03T01:30:00", NEW_YORK)
    assert instant == utc_us(2024, 11, 3, 5, 30)


def test_wall_time_in_spring_forward_gap_uses_the_offset_before_the_gap() -> None:
    # 02:30 never happens in New York on 2024-03-10; read with EST (UTC-5).
    instant = parse_event_time("2024-03-10T02:30:00", NEW_YORK)
    assert instant == utc_us(2024, 3, 10, 7, 30)


REJECTED = [
    # Not a date and time
    "2024-07-17",
    "10:15:00",
    "2024-07-17T10",
    "2024-07-17T10:15:00.",
    "2024-07-17T10:15:00.Z",
    "2024-07-17t10:15:00Z",
    "2024-07-17T10:15:00 +07:00",
    " 2024-07-17T10:15:00Z",
    "2024-07-17T10:15:00Z ",
    "2024/07/17 10:15:00",
    "17-07-2024T10:15:00",
    "garbage",
    "",
    "now",
    # Impossible dates and times
    "2024-02-30T00:00:00Z",
    "2023-02-29T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-00-10T00:00:00Z",
    "2024-07-32T00:00:00Z",
    "2024-07-17T24:00:00Z",
    "2024-07-17T10:60:00Z",
    "2024-07-17T10:15:61Z",
    # Bad offsets
    "2024-07-17T10:15:00+24:00",
    "2024-07-17T10:15:00+07:60",
    "2024-07-17T10:15:00+7",
    "2024-07-17T10:15:00+07:0",
    "2024-07-17T10:15:00+070",
    "2024-07-17T10:15:00+07:00:00",
    "2024-07-17T10:15:00UTC",
    "2024-07-17T10:15:00Asia/Ho_Chi_Minh",
    # Out of range
    "1969-12-31T23:59:59Z",
    "1970-01-01T06:59:59+07:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-23:59",
    "-1",
    "1.5",
    "1e12",
    "1_000",
    "+1000",
    str(LATEST_EPOCH_MS + 1),
    # Digits from other scripts: superscript, fullwidth, Arabic-Indic
    "²",
    "1721186100000".translate(FULLWIDTH_DIGITS),
    "١٧٢١١٨٦١٠٠٠٠٠",
    "2024-07-17T10:15:00Z".translate(FULLWIDTH_DIGITS),
    # Values of other types
    1.5,
    1_721_186_100_000.0,
    True,
    False,
    None,
    -1,
    LATEST_EPOCH_MS + 1,
    10**30,
    [2024, 7, 17],
    {"iso": "2024-07-17T10:15:00Z"},
    b"2024-07-17T10:15:00Z",
]


@pytest.mark.parametrize("value", REJECTED)
def test_anything_else_is_rejected_naming_event_time_and_the_value(
    value: object,
) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event_time(value, HCM)
    assert caught.value.field == "event_time"
    shown = repr(value) if value == "" else str(value)
    assert shown in caught.value.message


def test_thousands_of_digits_are_rejected_as_too_long_not_a_crash() -> None:
    digits = "9" * 5_000
    with pytest.raises(InvalidEvent) as caught:
        parse_event_time(digits, HCM)
    assert caught.value.field == "event_time"
    assert "at most 64 accepted" in caught.value.message
    assert "9" * 32 in caught.value.message


def test_sixty_digits_are_rejected_as_out_of_range() -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event_time("9" * 60, HCM)
    assert "out of range" in caught.value.message


def test_format_instant_shows_the_zone_offset_and_microseconds() -> None:
    assert format_instant(MORNING_US + 5, HCM) == "2024-07-17T10:15:00.000005+07:00"
    assert format_instant(0, NEW_YORK) == "1969-12-31T19:00:00-05:00"


def test_latest_accepted_instant_can_be_shown_in_every_extreme_zone() -> None:
    latest_us = LATEST_EPOCH_MS * 1_000
    for name in ("Pacific/Kiritimati", "Etc/GMT-14", "Etc/GMT+12"):
        assert format_instant(latest_us, ZoneInfo(name)).startswith("9999-12-")


def test_instant_datetime_is_exact_to_the_microsecond() -> None:
    moment = instant_datetime(MORNING_US + 1, HCM)
    assert moment == datetime(2024, 7, 17, 3, 15, 0, 1, tzinfo=UTC)
    assert moment.utcoffset() is not None
    assert moment.isoformat() == "2024-07-17T10:15:00.000001+07:00"
