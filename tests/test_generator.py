"""The synthetic day: its shape, its quirks, its determinism and its speed."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from gametime.backend import Backend
from gametime.errors import InvalidInput
from gametime.generator import (
    CHUNK_LINES,
    DaySpec,
    GenerationStats,
    generate,
    latest_past_day,
    reaches_future,
)

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2024, 7, 16)
LINE = re.compile(
    r'\{"user_id":"user-\d+","role_id":"user-\d+\.r\d","game_id":"game-\d+",'
    r'"event_time":"2024-07-1[67]T\d\d:\d\d:\d\d\+07:00"\}'
)


def spec(**changes: object) -> DaySpec:
    fields: dict[str, object] = {
        "users": 30,
        "games": 3,
        "day": DAY,
        "seed": 11,
        "zone": HCM,
    }
    fields.update(changes)
    return DaySpec(**fields)  # type: ignore[arg-type]


def text_of(day: DaySpec, stats: GenerationStats | None = None) -> str:
    return "".join(generate(day, stats))


def events_of(text: str) -> list[dict[str, str]]:
    return [orjson.loads(line) for line in text.splitlines()]


def instant(event: dict[str, str]) -> datetime:
    return datetime.fromisoformat(event["event_time"])


def test_same_seed_gives_byte_identical_output() -> None:
    assert text_of(spec(seed=5)) == text_of(spec(seed=5))
    assert text_of(spec(seed=5)) != text_of(spec(seed=6))


def test_every_line_has_the_reference_shape_with_the_zone_offset() -> None:
    lines = text_of(spec()).splitlines()

    assert lines
    assert all(LINE.fullmatch(line) for line in lines)


def test_a_user_sends_a_heartbeat_every_second_of_a_session() -> None:
    seconds: defaultdict[str, set[datetime]] = defaultdict(set)
    for event in events_of(text_of(spec(late_rate=0.0, duplicate_rate=0.0))):
        seconds[event["user_id"]].add(instant(event))

    for user, played in seconds.items():
        ordered = sorted(played)
        gaps = {later - earlier for earlier, later in itertools.pairwise(ordered)}
        # Within a session one second apart; between sessions at least 30 s.
        assert all(
            gap == timedelta(seconds=1) or gap >= timedelta(seconds=30) for gap in gaps
        ), user


def test_duplicates_are_exact_copies_at_the_configured_rate() -> None:
    stats = GenerationStats()
    lines = text_of(spec(duplicate_rate=0.05), stats).splitlines()

    copies = len(lines) - len(set(lines))
    assert copies == stats.duplicates
    assert 0.04 < copies / len(set(lines)) < 0.06


def test_without_duplicates_every_line_is_unique() -> None:
    lines = text_of(spec(duplicate_rate=0.0)).splitlines()

    assert len(lines) == len(set(lines))


def test_late_events_arrive_behind_newer_ones() -> None:
    stats = GenerationStats()
    times = [instant(e) for e in events_of(text_of(spec(late_rate=0.01), stats))]

    behind = sum(1 for earlier, later in itertools.pairwise(times) if later < earlier)
    assert stats.late > 0
    assert behind > 0


def test_without_late_events_times_never_go_back() -> None:
    times = [instant(e) for e in events_of(text_of(spec(late_rate=0.0)))]

    assert times == sorted(times)


def test_some_users_play_past_local_midnight_into_the_next_day() -> None:
    stats = GenerationStats()
    events = events_of(text_of(spec(cross_midnight_rate=0.3), stats))

    days_by_user: defaultdict[str, set[date]] = defaultdict(set)
    for event in events:
        days_by_user[event["user_id"]].add(instant(event).date())
    crossing = [user for user, days in days_by_user.items() if len(days) == 2]
    assert stats.crossing_midnight == len(crossing) > 0
    assert all(days <= {DAY, DAY + timedelta(days=1)} for days in days_by_user.values())


def test_no_user_crosses_midnight_when_the_rate_is_zero() -> None:
    events = events_of(text_of(spec(cross_midnight_rate=0.0)))

    assert {instant(event).date() for event in events} == {DAY}


def test_users_play_under_several_roles_of_their_own() -> None:
    roles: defaultdict[str, set[str]] = defaultdict(set)
    for event in events_of(text_of(spec(users=50))):
        roles[event["user_id"]].add(event["role_id"])

    assert any(len(user_roles) > 1 for user_roles in roles.values())
    assert all(role.startswith(user + ".") for user, rs in roles.items() for role in rs)


def test_output_streams_in_chunks_before_the_day_is_done() -> None:
    stats = GenerationStats()
    chunks = generate(spec(users=40), stats)

    first = next(chunks)
    written_first = stats.lines
    rest = sum(chunk.count("\n") for chunk in chunks)

    assert first.count("\n") == written_first >= CHUNK_LINES
    assert rest > 0


def test_offsets_follow_daylight_saving_time_in_the_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    events = events_of(
        text_of(spec(zone=berlin, day=date(2024, 3, 31), users=60, late_rate=0.0))
    )

    offsets = {event["event_time"][-6:] for event in events}
    assert offsets == {"+01:00", "+02:00"}
    assert all(
        instant(e).astimezone(berlin).date() >= date(2024, 3, 31) for e in events
    )


@pytest.mark.slow
def test_writes_a_million_events_in_a_few_seconds() -> None:
    stats = GenerationStats()
    started = time.perf_counter()
    for _ in generate(spec(users=200, games=5), stats):
        pass
    elapsed = time.perf_counter() - started

    assert stats.lines >= 1_000_000
    assert elapsed < 10, f"{stats.lines:,} events took {elapsed:.1f} s"


def test_served_totals_equal_an_independent_count_of_distinct_minutes(
    backend: Backend,
) -> None:
    text = text_of(spec(users=12, cross_midnight_rate=0.5, duplicate_rate=0.01))
    events = events_of(text)
    expected: defaultdict[tuple[str, date], set[tuple[int, int]]] = defaultdict(set)
    for event in events:
        local = instant(event).astimezone(HCM)
        expected[(event["user_id"], local.date())].add((local.hour, local.minute))

    async def served() -> dict[tuple[str, date], int]:
        for start in range(0, len(events), 5_000):
            batch: list[object] = list(events[start : start + 5_000])
            result = await backend.ingest.ingest_items(batch)
            assert not result.rejections
        return {
            key: (await backend.playtime.day_playtime(*key)).total_minutes
            for key in expected
        }

    assert asyncio.run(served()) == {key: len(m) for key, m in expected.items()}


def test_latest_past_day_lies_entirely_in_the_past() -> None:
    now = datetime(2024, 7, 17, 1, 30, tzinfo=HCM)  # 01:30: overflow not yet over
    now_us = int(now.timestamp()) * 1_000_000

    day = latest_past_day(HCM, now_us)

    assert day == date(2024, 7, 15)
    assert not reaches_future(day, HCM, now_us)
    assert reaches_future(date(2024, 7, 16), HCM, now_us)


def test_latest_past_day_is_yesterday_once_its_overflow_is_over() -> None:
    now_us = int(datetime(2024, 7, 17, 9, 0, tzinfo=UTC).timestamp()) * 1_000_000

    assert latest_past_day(HCM, now_us) == date(2024, 7, 16)


@pytest.mark.parametrize(
    ("field", "value"),
    [("users", 0), ("games", -1), ("duplicate_rate", 1.5), ("late_rate", -0.1)],
)
def test_a_spec_out_of_range_names_the_field_and_value(
    field: str, value: object
) -> None:
    with pytest.raises(InvalidInput) as raised:
        spec(**{field: value})

    assert raised.value.field == field
    assert repr(value) in raised.value.message
