"""Local days and minute indexes, including the days daylight saving bends."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gametime.domain.calendar import MINUTES_PER_DAY_MAX, DaySpan, LocalCalendar
from gametime.domain.event_time import parse_event_time

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
SECOND_US = 1_000_000


def utc_us(*parts: int) -> int:
    moment = datetime(*parts, tzinfo=UTC)
    return int(moment.timestamp()) * SECOND_US + moment.microsecond


def locate(zone: ZoneInfo, instant_us: int) -> tuple[str, int]:
    day, minute = LocalCalendar(zone).locate(instant_us)
    return day.isoformat(), minute


def locate_text(zone: ZoneInfo, text: str) -> tuple[str, int]:
    return locate(zone, parse_event_time(text, zone))


def test_last_second_of_the_local_day_is_minute_1439() -> None:
    assert locate_text(HCM, "2024-07-17T23:59:59") == ("2024-07-17", 1439)


def test_minute_at_midnight_belongs_to_new_day() -> None:
    assert locate_text(HCM, "2024-07-18T00:00:00") == ("2024-07-18", 0)


def test_utc_instant_before_17_00z_is_the_previous_local_day() -> None:
    assert locate_text(HCM, "2024-07-17T16:59:59Z") == ("2024-07-17", 1439)
    assert locate_text(HCM, "2024-07-17T16:59:59.999999Z") == ("2024-07-17", 1439)


def test_utc_17_00z_starts_the_next_local_day_at_minute_0() -> None:
    assert locate_text(HCM, "2024-07-17T17:00:00Z") == ("2024-07-18", 0)
    assert locate_text(HCM, "2024-07-17T17:00:59.999Z") == ("2024-07-18", 0)
    assert locate_text(HCM, "2024-07-17T17:01:00Z") == ("2024-07-18", 1)


def test_seconds_within_a_minute_share_its_index() -> None:
    assert locate_text(HCM, "2024-07-17T10:15:00") == ("2024-07-17", 615)
    assert locate_text(HCM, "2024-07-17T10:15:59.999999") == ("2024-07-17", 615)


def test_day_in_a_fixed_offset_zone_lasts_1440_minutes() -> None:
    span = LocalCalendar(HCM).span(date(2024, 7, 17))
    assert span == DaySpan(
        date(2024, 7, 17), utc_us(2024, 7, 16, 17), utc_us(2024, 7, 17, 17)
    )
    assert span.minutes == 1440


@pytest.mark.parametrize(
    ("zone", "day", "minutes"),
    [
        (NEW_YORK, date(2024, 3, 10), 1380),
        (NEW_YORK, date(2024, 11, 3), 1500),
        (NEW_YORK, date(2024, 11, 4), 1440),
        (LONDON, date(2024, 3, 31), 1380),
        (LONDON, date(2024, 10, 27), 1500),
        (LONDON, date(2024, 7, 17), 1440),
    ],
)
def test_daylight_saving_days_last_23_or_25_hours(
    zone: ZoneInfo, day: date, minutes: int
) -> None:
    assert LocalCalendar(zone).span(day).minutes == minutes


@pytest.mark.parametrize(
    ("zone", "first_utc", "second_utc"),
    [
        # 01:30 EDT then 01:30 EST in New York.
        (NEW_YORK, utc_us(2024, 11, 3, 5, 30), utc_us(2024, 11, 3, 6, 30)),
        # 01:30 BST then 01:30 GMT in London.
        (LONDON, utc_us(2024, 10, 27, 0, 30), utc_us(2024, 10, 27, 1, 30)),
    ],
)
def test_repeated_wall_hour_at_fall_back_gives_two_distinct_minutes(
    zone: ZoneInfo, first_utc: int, second_utc: int
) -> None:
    first, second = locate(zone, first_utc), locate(zone, second_utc)
    assert first[0] == second[0]
    assert (first[1], second[1]) == (90, 150)


def test_last_minute_of_a_25_hour_day_is_1499() -> None:
    assert locate_text(NEW_YORK, "2024-11-03T23:59:59") == ("2024-11-03", 1499)
    assert locate_text(NEW_YORK, "2024-11-04T00:00:00") == ("2024-11-04", 0)


def test_spring_forward_skips_the_missing_hour() -> None:
    assert locate_text(NEW_YORK, "2024-03-10T01:59:59") == ("2024-03-10", 119)
    assert locate_text(NEW_YORK, "2024-03-10T03:00:00") == ("2024-03-10", 120)
    assert locate_text(NEW_YORK, "2024-03-10T23:59:59") == ("2024-03-10", 1379)


def test_window_gives_first_and_last_second_with_their_offsets() -> None:
    start, last = LocalCalendar(HCM).window(date(2024, 7, 17))
    assert start.isoformat() == "2024-07-17T00:00:00+07:00"
    assert last.isoformat() == "2024-07-17T23:59:59+07:00"


@pytest.mark.parametrize(
    ("day", "start", "last"),
    [
        (date(2024, 3, 10), "2024-03-10T00:00:00-05:00", "2024-03-10T23:59:59-04:00"),
        (date(2024, 11, 3), "2024-11-03T00:00:00-04:00", "2024-11-03T23:59:59-05:00"),
    ],
)
def test_window_of_a_daylight_saving_day_changes_offset(
    day: date, start: str, last: str
) -> None:
    first, final = LocalCalendar(NEW_YORK).window(day)
    assert (first.isoformat(), final.isoformat()) == (start, last)


def test_next_midnight_is_the_start_of_the_next_local_day() -> None:
    calendar = LocalCalendar(HCM)
    noon = parse_event_time("2024-07-17T12:00:00", HCM)
    assert calendar.next_midnight(noon).isoformat() == "2024-07-18T00:00:00+07:00"
    last = parse_event_time("2024-07-17T23:59:59.999999", HCM)
    assert calendar.next_midnight(last).isoformat() == "2024-07-18T00:00:00+07:00"
    midnight = parse_event_time("2024-07-18T00:00:00", HCM)
    assert calendar.next_midnight(midnight).isoformat() == "2024-07-19T00:00:00+07:00"


def test_next_midnight_after_spring_forward_has_the_summer_offset() -> None:
    calendar = LocalCalendar(NEW_YORK)
    early = parse_event_time("2024-03-10T01:00:00", NEW_YORK)
    assert calendar.next_midnight(early).isoformat() == "2024-03-11T00:00:00-04:00"


def test_today_is_the_local_date_of_the_instant() -> None:
    calendar = LocalCalendar(HCM)
    assert calendar.today(utc_us(2024, 7, 17, 16, 59, 59)) == date(2024, 7, 17)
    assert calendar.today(utc_us(2024, 7, 17, 17)) == date(2024, 7, 18)


def test_span_is_half_open() -> None:
    span = LocalCalendar(HCM).span(date(2024, 7, 17))
    assert span.contains(span.start_us)
    assert span.contains(span.end_us - 1)
    assert not span.contains(span.end_us)
    assert not span.contains(span.start_us - 1)


def test_consecutive_spans_tile_time_without_gaps() -> None:
    calendar = LocalCalendar(NEW_YORK)
    day = date(2024, 1, 1)
    for _ in range(366):
        following = day + timedelta(days=1)
        assert calendar.span(day).end_us == calendar.span(following).start_us
        day = following


def test_locate_stays_right_when_jumping_between_days() -> None:
    # The calendar remembers the last span; going back and forth must not reuse it.
    calendar = LocalCalendar(HCM)
    instants = [
        utc_us(2024, 7, 17, 3),
        utc_us(2024, 7, 17, 17),
        utc_us(2024, 7, 17, 16, 59),
        utc_us(2020, 1, 1),
        utc_us(2024, 7, 17, 3, 1),
    ]
    located = [calendar.locate(instant) for instant in instants]
    assert [(day.isoformat(), minute) for day, minute in located] == [
        ("2024-07-17", 600),
        ("2024-07-18", 0),
        ("2024-07-17", 1439),
        ("2020-01-01", 420),
        ("2024-07-17", 601),
    ]


def test_more_days_than_the_span_cache_holds_are_still_located_right() -> None:
    calendar = LocalCalendar(HCM)
    first = utc_us(2000, 1, 1, 5)  # 12:00 local
    day_us = 86_400 * SECOND_US
    for offset in range(LocalCalendar._CACHE_LIMIT + 10):
        day, minute = calendar.locate(first + offset * day_us)
        assert (day, minute) == (date(2000, 1, 1) + timedelta(days=offset), 720)


def test_instant_zero_is_located_in_a_zone_behind_utc() -> None:
    assert locate(NEW_YORK, 0) == ("1969-12-31", 19 * 60)


@pytest.mark.parametrize(
    ("zone_name", "day"),
    [("Antarctica/Troll", date(2024, 10, 27)), ("Asia/Magadan", date(2014, 10, 26))],
)
def test_days_longer_than_25_hours_fit_the_minute_bound(
    zone_name: str, day: date
) -> None:
    # Offset changes of two hours make 26-hour days; their last minute must fit.
    calendar = LocalCalendar(ZoneInfo(zone_name))
    span = calendar.span(day)
    assert span.minutes == 1560
    assert calendar.locate(span.end_us - 1) == (day, 1559)
    assert span.minutes <= MINUTES_PER_DAY_MAX
