"""Distinct-minute bitmaps and the tally of events into them."""

from __future__ import annotations

import functools
import itertools
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gametime.domain.calendar import MINUTES_PER_DAY_MAX, LocalCalendar
from gametime.domain.events import Event
from gametime.domain.minutes import (
    BITMAP_BYTES,
    GameDayKey,
    MinuteMarks,
    MinuteSet,
    UserDayKey,
    count,
    from_bytes,
    minute_bit,
    minute_indexes,
    pack,
    tally,
    to_bytes,
    unpack,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US
DAY = date(2024, 7, 17)
# 2024-07-17 10:15:00 in Ho Chi Minh City: minute 615 of the local day.
MORNING_US = int(datetime(2024, 7, 17, 3, 15, tzinfo=UTC).timestamp()) * SECOND_US


def played(user: str, game: str, instant_us: int) -> Event:
    return Event(user, game, None, instant_us, str(instant_us // 1_000))


def minutes_of(minutes: Iterable[int]) -> MinuteSet:
    result = 0
    for minute in minutes:
        result |= minute_bit(minute)
    return result


def redis_setbit(minutes: Iterable[int]) -> bytes:
    """The bytes Redis holds after SETBIT key minute 1 for each minute."""
    buffer = bytearray()
    for minute in minutes:
        index, position = divmod(minute, 8)
        if len(buffer) <= index:
            buffer.extend(bytes(index + 1 - len(buffer)))
        buffer[index] |= 0x80 >> position
    return bytes(buffer)


def tally_hcm(events: Iterable[Event]) -> MinuteMarks:
    return tally(events, LocalCalendar(HCM))


# Bitmaps


def test_minute_0_is_the_most_significant_bit_of_byte_0() -> None:
    bitmap = to_bytes(minute_bit(0))
    assert bitmap[0] == 0b1000_0000
    assert not any(bitmap[1:])


def test_minute_7_is_the_least_significant_bit_of_byte_0() -> None:
    assert to_bytes(minute_bit(7))[0] == 0b0000_0001


def test_minute_9_is_bit_6_of_byte_1() -> None:
    bitmap = to_bytes(minute_bit(9))
    assert bitmap[1] == 1 << 6
    assert bitmap.count(0) == BITMAP_BYTES - 1


@pytest.mark.parametrize("minute", [0, 1, 8, 615, 1439, 1499, MINUTES_PER_DAY_MAX - 1])
def test_each_minute_sets_the_bit_redis_setbit_would(minute: int) -> None:
    assert to_bytes(minute_bit(minute)) == redis_setbit([minute]).ljust(
        BITMAP_BYTES, b"\0"
    )


def test_bitmap_holds_every_minute_of_the_longest_day() -> None:
    assert BITMAP_BYTES * 8 >= MINUTES_PER_DAY_MAX
    assert count(minutes_of(range(MINUTES_PER_DAY_MAX))) == MINUTES_PER_DAY_MAX


def test_bitmaps_are_written_at_full_length() -> None:
    assert len(to_bytes(0)) == BITMAP_BYTES
    assert len(to_bytes(minute_bit(0))) == BITMAP_BYTES


@pytest.mark.parametrize("empty", [None, b""])
def test_missing_bitmap_is_no_minutes(empty: bytes | None) -> None:
    assert from_bytes(empty) == 0


def test_redis_style_truncated_bitmap_decodes() -> None:
    # Redis returns a string that ends at its last byte holding a set bit.
    assert from_bytes(b"\x80") == minute_bit(0)
    assert from_bytes(b"\x00\x40") == minute_bit(9)
    assert minute_indexes(from_bytes(b"\xc0\x01")) == [0, 1, 15]


def test_minute_indexes_are_ascending_and_count_matches() -> None:
    minutes = minutes_of([1439, 0, 615, 9, 615])
    assert minute_indexes(minutes) == [0, 9, 615, 1439]
    assert count(minutes) == 4
    assert minute_indexes(0) == []


minute_lists = st.lists(st.integers(0, MINUTES_PER_DAY_MAX - 1), max_size=80)


@given(minute_lists)
def test_bitmap_bytes_round_trip(minutes: list[int]) -> None:
    bits = minutes_of(minutes)
    assert from_bytes(to_bytes(bits)) == bits
    assert minute_indexes(bits) == sorted(set(minutes))


@given(minute_lists)
def test_bitmap_bytes_match_redis_setbit_and_decode_when_truncated(
    minutes: list[int],
) -> None:
    redis = redis_setbit(minutes).rstrip(b"\0")
    assert to_bytes(minutes_of(minutes)) == redis.ljust(BITMAP_BYTES, b"\0")
    assert from_bytes(redis) == minutes_of(minutes)


@given(minute_lists, minute_lists)
def test_union_of_bitmaps_is_bitwise_or_of_their_bytes(
    left: list[int], right: list[int]
) -> None:
    union = from_bytes(to_bytes(minutes_of(left))) | minutes_of(right)
    assert minute_indexes(union) == sorted(set(left) | set(right))


@given(minute_lists)
def test_packed_bitmap_round_trips(minutes: list[int]) -> None:
    bits = minutes_of(minutes)
    assert unpack(pack(bits)) == bits


@pytest.mark.parametrize("empty", [None, b""])
def test_no_minutes_pack_to_nothing_and_nothing_unpacks_to_no_minutes(
    empty: bytes | None,
) -> None:
    assert pack(0) == b""
    assert unpack(empty) == 0


@given(minute_lists)
def test_packed_bytes_are_the_bitmap_from_its_first_to_its_last_non_zero_byte(
    minutes: list[int],
) -> None:
    # The exact bytes matter beyond round trips: stores keep them and the Redis
    # merge script reads them.
    bitmap = to_bytes(minutes_of(minutes))
    kept = bitmap.strip(b"\0")
    start = len(bitmap) - len(bitmap.lstrip(b"\0"))
    assert pack(minutes_of(minutes)) == (
        start.to_bytes(2, "big") + kept if kept else b""
    )


def test_an_evening_hour_packs_into_a_few_bytes() -> None:
    packed = pack(minutes_of(range(20 * 60, 21 * 60)))
    assert len(packed) <= 2 + 60 // 8 + 1


# Tally


def test_duplicate_events_count_once() -> None:
    marks = tally_hcm([played("u", "g", MORNING_US)] * 3)
    assert marks.games == {("u", DAY, "g"): minute_bit(615)}
    assert marks.totals == {("u", DAY): minute_bit(615)}


def test_events_within_one_minute_count_once() -> None:
    seconds = [0, 1, 30, 59]
    events = [played("u", "g", MORNING_US + s * SECOND_US) for s in seconds]
    assert count(tally_hcm(events).games[("u", DAY, "g")]) == 1


def test_minute_in_two_games_counts_once_in_total_and_once_in_each_game() -> None:
    marks = tally_hcm(
        [
            played("u", "chess", MORNING_US),
            played("u", "go", MORNING_US + 10 * SECOND_US),
            played("u", "go", MORNING_US + MINUTE_US),
        ]
    )
    assert minute_indexes(marks.games[("u", DAY, "chess")]) == [615]
    assert minute_indexes(marks.games[("u", DAY, "go")]) == [615, 616]
    assert minute_indexes(marks.totals[("u", DAY)]) == [615, 616]


def test_out_of_order_events_mark_the_same_minutes() -> None:
    instants = [MORNING_US + k * MINUTE_US for k in (5, 0, 3, 0, 1)]
    shuffled = tally_hcm(played("u", "g", instant) for instant in instants)
    ordered = tally_hcm(played("u", "g", instant) for instant in sorted(instants))
    assert shuffled == ordered
    assert minute_indexes(shuffled.totals[("u", DAY)]) == [615, 616, 618, 620]


def test_users_are_counted_apart() -> None:
    marks = tally_hcm([played("a", "g", MORNING_US), played("b", "g", MORNING_US)])
    assert set(marks.totals) == {("a", DAY), ("b", DAY)}


def test_events_either_side_of_local_midnight_go_to_their_own_days() -> None:
    midnight_us = int(datetime(2024, 7, 17, 17, tzinfo=UTC).timestamp()) * SECOND_US
    marks = tally_hcm(
        [played("u", "g", midnight_us - 1), played("u", "g", midnight_us)]
    )
    assert marks.totals == {
        ("u", DAY): minute_bit(1439),
        ("u", DAY + timedelta(days=1)): minute_bit(0),
    }


def test_no_events_mark_nothing() -> None:
    marks = tally_hcm([])
    assert not marks
    assert (marks.games, marks.totals) == ({}, {})


def test_any_event_makes_marks_true() -> None:
    assert tally_hcm([played("u", "g", MORNING_US)])


# Property: tally agrees with a brute-force oracle, whatever the order or batching.

USERS = ["u1", "u2", "u3"]
GAMES = ["g1", "g2", "g3"]
WINDOW_US = 3 * 86_400 * SECOND_US
# Three-day windows of UTC instants: around local midnights in Ho Chi Minh City,
# and around New York's spring-forward and fall-back days.
WINDOWS = {
    "Asia/Ho_Chi_Minh": [datetime(2024, 7, 16, 12, tzinfo=UTC)],
    "America/New_York": [
        datetime(2024, 3, 9, tzinfo=UTC),
        datetime(2024, 11, 2, tzinfo=UTC),
    ],
}


def epoch_us(moment: datetime) -> int:
    return int(moment.timestamp()) * SECOND_US + moment.microsecond


@functools.cache
def local_midnight_s(zone_name: str, day: date) -> int:
    """The first UTC second whose local date is `day`, found by bisection."""
    zone = ZoneInfo(zone_name)

    def local_date(second: int) -> date:
        return datetime.fromtimestamp(second, UTC).astimezone(zone).date()

    utc_midnight = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    # No zone is 30 hours from UTC: `before` is an earlier local day, `after` is not.
    before, after = utc_midnight - 30 * 3_600, utc_midnight + 30 * 3_600
    while after - before > 1:
        middle = (before + after) // 2
        if local_date(middle) >= day:
            after = middle
        else:
            before = middle
    return after


def oracle(
    events: list[Event], zone_name: str
) -> tuple[dict[GameDayKey, set[int]], dict[UserDayKey, set[int]]]:
    games: defaultdict[GameDayKey, set[int]] = defaultdict(set)
    totals: defaultdict[UserDayKey, set[int]] = defaultdict(set)
    for event in events:
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            microseconds=event.instant_us
        )
        day = moment.astimezone(ZoneInfo(zone_name)).date()
        elapsed_us = event.instant_us - local_midnight_s(zone_name, day) * SECOND_US
        minute = elapsed_us // MINUTE_US
        games[(event.user_id, day, event.game_id)].add(minute)
        totals[(event.user_id, day)].add(minute)
    return dict(games), dict(totals)


def as_indexes(marks: dict[GameDayKey, int] | dict[UserDayKey, int]) -> object:
    return {key: set(minute_indexes(bits)) for key, bits in marks.items()}


def offsets_in_window() -> st.SearchStrategy[int]:
    anywhere = st.integers(0, WINDOW_US - 1)
    # Minute edges, so that events often share a minute or sit at its bounds.
    edges = st.builds(
        lambda minute, second_us: minute * MINUTE_US + second_us,
        st.integers(0, WINDOW_US // MINUTE_US - 1),
        st.sampled_from([0, 1, 30 * SECOND_US, MINUTE_US - 1]),
    )
    return st.one_of(anywhere, edges)


@st.composite
def event_lists(draw: st.DrawFn, zone_name: str) -> list[Event]:
    start_us = epoch_us(draw(st.sampled_from(WINDOWS[zone_name])))
    event = st.builds(
        lambda user, game, offset: played(user, game, start_us + offset),
        st.sampled_from(USERS),
        st.sampled_from(GAMES),
        offsets_in_window(),
    )
    events = draw(st.lists(event, max_size=40))
    if events:
        events += draw(st.lists(st.sampled_from(events), max_size=10))
    return events


def merge(parts: Iterable[MinuteMarks]) -> MinuteMarks:
    games: defaultdict[GameDayKey, int] = defaultdict(int)
    totals: defaultdict[UserDayKey, int] = defaultdict(int)
    for part in parts:
        for game_key, bits in part.games.items():
            games[game_key] |= bits
        for user_key, bits in part.totals.items():
            totals[user_key] |= bits
    return MinuteMarks(games=dict(games), totals=dict(totals))


zone_names = pytest.mark.parametrize("zone_name", sorted(WINDOWS))


@zone_names
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_tally_counts_match_a_brute_force_oracle(
    zone_name: str, data: st.DataObject
) -> None:
    events = data.draw(event_lists(zone_name))
    marks = tally(events, LocalCalendar(ZoneInfo(zone_name)))
    games, totals = oracle(events, zone_name)
    assert as_indexes(marks.games) == games
    assert as_indexes(marks.totals) == totals
    assert {key: count(bits) for key, bits in marks.totals.items()} == {
        key: len(minutes) for key, minutes in totals.items()
    }


@zone_names
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_order_and_batching_then_or_gives_the_same_marks(
    zone_name: str, data: st.DataObject
) -> None:
    events = data.draw(event_lists(zone_name))
    shuffled = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), max_size=5)))
    bounds = [0, *cuts, len(events)]
    # One calendar across batches, as a long-running processor keeps it.
    calendar = LocalCalendar(ZoneInfo(zone_name))
    batches = [shuffled[start:end] for start, end in itertools.pairwise(bounds)]
    merged = merge(tally(batch, calendar) for batch in batches)
    assert merged == tally(events, LocalCalendar(ZoneInfo(zone_name)))
