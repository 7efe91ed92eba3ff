"""The contract every store adapter keeps, run against each one.

Each adapter implements some of RawEventStore, MinuteStore, ProfileStore and
RejectionStore. The same tests run against every adapter listed in `STORES`;
adapters backed by a server join the list when the local stack runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gametime.adapters.sqlite import SqliteStore
from gametime.domain.calendar import LocalCalendar
from gametime.domain.clock import FixedClock
from gametime.domain.events import Event, Rejection
from gametime.domain.minutes import minute_bit, tally, to_bytes
from gametime.domain.profiles import Profile
from gametime.ports import StoredEvent
from gametime.settings import load_settings
from tests.conftest import NOON_2024_07_17, micros

T = TypeVar("T")
DAY = date(2024, 7, 17)
RETENTION_S = 30 * 86_400
MINUTE_US = 60_000_000
# 2024-07-17 00:00 in Asia/Ho_Chi_Minh.
MIDNIGHT_US = micros(NOON_2024_07_17) - 12 * 60 * MINUTE_US


def run(awaitable: Awaitable[T]) -> T:
    async def wrapped() -> T:
        return await awaitable

    return asyncio.run(wrapped())


@pytest.fixture
def calendar() -> LocalCalendar:
    return load_settings().calendar()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(micros(NOON_2024_07_17))


@pytest.fixture(params=["sqlite"])
def store(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    calendar: LocalCalendar,
    clock: FixedClock,
) -> Iterator[Any]:
    opened = SqliteStore(tmp_path / "contract.sqlite3", calendar, clock, RETENTION_S)
    yield opened
    opened.close()


def at(minute: int, second: int = 0) -> int:
    return MIDNIGHT_US + minute * MINUTE_US + second * 1_000_000


def played(user: str, game: str, minute: int, second: int = 0) -> Event:
    instant = at(minute, second)
    return Event(user, game, "r", instant, f"t{instant}")


def mark(store: Any, calendar: LocalCalendar, events: list[Event]) -> None:
    run(store.mark_minutes(tally(events, calendar)))


def test_marking_twice_counts_once(store: Any, calendar: LocalCalendar) -> None:
    events = [played("u", "g1", m) for m in range(5)]
    mark(store, calendar, events)
    mark(store, calendar, events)

    assert run(store.read_game("u", DAY, "g1")) == (5, 5)


def test_total_is_the_union_of_games(store: Any, calendar: LocalCalendar) -> None:
    mark(store, calendar, [played("u", "g1", m) for m in range(0, 10)])
    mark(store, calendar, [played("u", "g2", m) for m in range(5, 15)])

    usage = run(store.read_day("u", DAY))
    assert usage.total_minutes == 15
    assert usage.games == {"g1": 10, "g2": 10}


def test_unknown_user_reads_zero(store: Any) -> None:
    assert run(store.read_game("nobody", DAY, "g")) == (0, 0)
    assert run(store.read_day("nobody", DAY)).total_minutes == 0


def test_days_are_kept_apart(store: Any, calendar: LocalCalendar) -> None:
    mark(store, calendar, [played("u", "g", 1439, 59), played("u", "g", 1440)])

    assert run(store.read_game("u", DAY, "g")) == (1, 1)
    assert run(store.read_game("u", date(2024, 7, 18), "g")) == (1, 1)


def test_minutes_expire_after_retention_and_restart_from_zero(
    store: Any, calendar: LocalCalendar, clock: FixedClock
) -> None:
    mark(store, calendar, [played("u", "g", m) for m in range(3)])
    clock.advance(RETENTION_S + 1)

    assert run(store.read_game("u", DAY, "g")) == (0, 0)
    mark(store, calendar, [played("u", "g", 7)])
    assert run(store.read_game("u", DAY, "g")) == (1, 1)


def test_bitmaps_use_the_shared_layout(store: Any, calendar: LocalCalendar) -> None:
    mark(store, calendar, [played("u", "g", 0), played("u", "g", 9)])

    bitmaps = run(store.read_bitmaps("u", DAY))
    assert bitmaps["g"] == to_bytes(minute_bit(0) | minute_bit(9))
    assert bitmaps[""] == bitmaps["g"]


def test_raw_events_replayed_add_no_row(store: Any, calendar: LocalCalendar) -> None:
    events = [StoredEvent(played("u", "g", m), DAY) for m in range(4)]
    run(store.store_events(events))
    run(store.store_events(events[2:] + events[:2]))

    page = run(store.list_events("u", DAY, None, 100))
    assert page.events == [stored.event for stored in events]
    assert page.next_cursor is None


def test_raw_events_keep_role_and_original_time(store: Any) -> None:
    event = Event("u:1", "g{1}", None, at(3, 59), "2024-07-17 00:03:59.999")
    run(store.store_events([StoredEvent(event, DAY)]))

    assert run(store.list_events("u:1", DAY, None, 10)).events == [event]


def test_raw_events_page_through_a_day(store: Any) -> None:
    events = [StoredEvent(played("u", "g", m), DAY) for m in range(7)]
    run(store.store_events(events))

    seen: list[Event] = []
    cursor = None
    while True:
        page = run(store.list_events("u", DAY, cursor, 3))
        seen += page.events
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [stored.event for stored in events]


def test_profiles_round_trip_and_replace(store: Any) -> None:
    run(store.put_profile(Profile("u", birth_date=date(2010, 1, 2))))
    run(store.put_profile(Profile("v", minor=True)))
    run(store.put_profile(Profile("v", minor=False)))

    assert run(store.get_profile("u")) == Profile("u", birth_date=date(2010, 1, 2))
    assert run(store.get_profile("v")) == Profile("v", minor=False)
    assert run(store.get_profile("w")) is None


def test_rejections_are_kept_once(store: Any) -> None:
    rejection = Rejection(0, "event_time", "bad", '{"event_time": 1.5}', 1)
    run(store.store_rejections([rejection, rejection]))

    assert run(store.list_rejections()) == [
        ("event_time", "bad", '{"event_time": 1.5}')
    ]
