"""The contract every store adapter keeps, run against each one.

Minute stores (SQLite, Redis), raw-event stores (SQLite, Cassandra) and profile
stores (SQLite, Redis, Cassandra) each run the same tests. Adapters backed by a
server use the real local stack and are marked `stack`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gametime.adapters.sqlite import SqliteStore
from gametime.domain.calendar import LocalCalendar
from gametime.domain.clock import FixedClock
from gametime.domain.events import Event, Rejection
from gametime.domain.minutes import tally
from gametime.domain.profiles import Profile
from gametime.settings import load_settings
from tests.conftest import NOON_2024_07_17, micros
from tests.stack_services import CASSANDRA_PORT, REDIS_PORT

pytestmark = pytest.mark.anyio

DAY = date(2024, 7, 17)
RETENTION_S = 30 * 86_400
MINUTE_US = 60_000_000
# 2024-07-17 00:00 in Asia/Ho_Chi_Minh.
MIDNIGHT_US = micros(NOON_2024_07_17) - 12 * 60 * MINUTE_US
STACK = pytest.mark.stack


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def calendar() -> LocalCalendar:
    return load_settings().calendar()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(micros(NOON_2024_07_17))


async def open_store(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> tuple[Any, Any]:
    """The store, and a coroutine function that closes it."""
    if kind == "sqlite":
        store = SqliteStore(
            tmp_path / "contract.sqlite3",
            load_settings().calendar(),
            clock,
            RETENTION_S,
        )

        async def close_sqlite() -> None:
            store.close()

        return store, close_sqlite
    request.getfixturevalue("stack")
    if kind == "redis":
        from gametime.adapters.redis import RedisStore

        db = request.getfixturevalue("redis_db")
        url = f"redis://127.0.0.1:{REDIS_PORT}/{db}"
        redis_store = RedisStore.from_url(url, RETENTION_S)
        return redis_store, redis_store.close
    from gametime.adapters.cassandra import CassandraStore

    options = load_settings(
        cassandra_port=CASSANDRA_PORT,
        cassandra_keyspace=f"contract_{uuid.uuid4().hex[:10]}",
    ).cassandra_options()
    cassandra = CassandraStore(options, clock, load_settings().calendar())
    return cassandra, cassandra.close


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=STACK)])
async def minutes(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[Any]:
    store, close = await open_store(request.param, request, tmp_path, clock)
    yield store
    await close()


@pytest.fixture(params=["sqlite", pytest.param("cassandra", marks=STACK)])
async def raw_events(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[Any]:
    store, close = await open_store(request.param, request, tmp_path, clock)
    yield store
    await close()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=STACK),
        pytest.param("cassandra", marks=STACK),
    ]
)
async def profiles(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock
) -> AsyncIterator[Any]:
    store, close = await open_store(request.param, request, tmp_path, clock)
    yield store
    await close()


def at(minute: int, second: int = 0) -> int:
    return MIDNIGHT_US + minute * MINUTE_US + second * 1_000_000


def played(user: str, game: str, minute: int, second: int = 0) -> Event:
    instant = at(minute, second)
    return Event(user, game, "r", instant, f"t{instant}")


async def mark(store: Any, calendar: LocalCalendar, events: list[Event]) -> None:
    await store.mark_minutes(tally(events, calendar))


# -- minute stores -------------------------------------------------------------------


async def test_marking_twice_counts_once(minutes: Any, calendar: LocalCalendar) -> None:
    events = [played("u", "g1", m) for m in range(5)]
    await mark(minutes, calendar, events)
    await mark(minutes, calendar, events)

    assert await minutes.read_game("u", DAY, "g1") == (5, 5)


async def test_total_is_the_union_of_games(
    minutes: Any, calendar: LocalCalendar
) -> None:
    await mark(minutes, calendar, [played("u", "g1", m) for m in range(0, 10)])
    await mark(minutes, calendar, [played("u", "g2", m) for m in range(5, 15)])

    usage = await minutes.read_day("u", DAY)
    assert usage.total_minutes == 15
    assert usage.games == {"g1": 10, "g2": 10}


async def test_merging_far_apart_minutes_keeps_both(
    minutes: Any, calendar: LocalCalendar
) -> None:
    await mark(minutes, calendar, [played("u", "g", 1000)])
    await mark(minutes, calendar, [played("u", "g", 3), played("u", "g", 1439)])
    await mark(minutes, calendar, [played("u", "g", 500)])

    assert await minutes.read_game("u", DAY, "g") == (4, 4)


async def test_unknown_user_reads_zero(minutes: Any) -> None:
    assert await minutes.read_game("nobody", DAY, "g") == (0, 0)
    assert (await minutes.read_day("nobody", DAY)).total_minutes == 0


async def test_days_are_kept_apart(minutes: Any, calendar: LocalCalendar) -> None:
    await mark(minutes, calendar, [played("u", "g", 1439, 59), played("u", "g", 1440)])

    assert await minutes.read_game("u", DAY, "g") == (1, 1)
    assert await minutes.read_game("u", date(2024, 7, 18), "g") == (1, 1)


async def test_ids_that_look_like_key_syntax_never_collide(
    minutes: Any, calendar: LocalCalendar
) -> None:
    users = ["a:b", "a", "{a}", "a}", "a b", "a%7Bb", "ä", "a\x00b", "*"]
    for count, user in enumerate(users, start=1):
        await mark(minutes, calendar, [played(user, "g:{1}", m) for m in range(count)])

    for count, user in enumerate(users, start=1):
        assert await minutes.read_game(user, DAY, "g:{1}") == (count, count), user


async def test_replace_day_sets_exactly_the_marks(
    minutes: Any, calendar: LocalCalendar
) -> None:
    await mark(minutes, calendar, [played("u", "g1", m) for m in range(10)])
    rebuilt = tally([played("u", "g2", 1), played("u", "g2", 2)], calendar)

    await minutes.replace_day("u", DAY, rebuilt)

    usage = await minutes.read_day("u", DAY)
    assert (usage.total_minutes, usage.games) == (2, {"g2": 2})


async def test_sqlite_minutes_expire_after_retention(
    tmp_path: Path, calendar: LocalCalendar, clock: FixedClock
) -> None:
    store = SqliteStore(tmp_path / "expiry.sqlite3", calendar, clock, RETENTION_S)
    await mark(store, calendar, [played("u", "g", m) for m in range(3)])
    clock.advance(RETENTION_S + 1)

    assert await store.read_game("u", DAY, "g") == (0, 0)
    await mark(store, calendar, [played("u", "g", 7)])
    assert await store.read_game("u", DAY, "g") == (1, 1)
    store.close()


# -- raw-event stores ----------------------------------------------------------------


async def test_raw_events_replayed_add_no_row(raw_events: Any) -> None:
    events = [played("u", "g", m) for m in range(4)]
    await raw_events.store_events(events)
    await raw_events.store_events(events[2:] + events[:2])

    page = await raw_events.list_events("u", DAY, None, 100)
    assert page.events == events
    assert page.next_cursor is None
    assert await raw_events.events_of("u", DAY) == page.events


async def test_raw_events_keep_role_and_original_time(raw_events: Any) -> None:
    event = Event("u:1", "g{1}", None, at(3, 59) + 999_999, "2024-07-17 00:03:59.9999")
    with_role = Event("u:1", "g{1}", "mage", at(3, 59) + 999_999, "1721149439999")
    await raw_events.store_events([event, with_role])

    listed = (await raw_events.list_events("u:1", DAY, None, 10)).events
    assert listed == [event, with_role]


async def test_raw_events_page_through_a_day(raw_events: Any) -> None:
    events = [played("u", "g", m) for m in range(7)]
    await raw_events.store_events(events)

    seen: list[Event] = []
    cursor = None
    while True:
        page = await raw_events.list_events("u", DAY, cursor, 3)
        seen += page.events
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == events


async def test_users_on_a_day_are_listed(raw_events: Any) -> None:
    await raw_events.store_events(
        [
            played("b", "g", 1),
            played("a", "g", 2),
            played("c", "g", 1441),
        ]
    )

    assert await raw_events.users_on(DAY) == ["a", "b"]


# -- profile stores ------------------------------------------------------------------


async def test_profiles_round_trip_and_replace(profiles: Any) -> None:
    await profiles.put_profile(Profile("u", birth_date=date(2010, 1, 2)))
    await profiles.put_profile(Profile("v", minor=True))
    await profiles.put_profile(Profile("v", minor=False))
    await profiles.put_profile(Profile("w", minor=True))
    await profiles.put_profile(Profile("w", birth_date=date(1990, 5, 6)))

    assert await profiles.get_profile("u") == Profile("u", birth_date=date(2010, 1, 2))
    assert await profiles.get_profile("v") == Profile("v", minor=False)
    assert await profiles.get_profile("w") == Profile("w", birth_date=date(1990, 5, 6))
    assert await profiles.get_profile("nobody") is None


# -- rejection store (embedded; Kafka's dead letters are tested in tests/stack) ------


async def test_rejections_are_kept_once(tmp_path: Path, clock: FixedClock) -> None:
    store = SqliteStore(
        tmp_path / "r.sqlite3", load_settings().calendar(), clock, RETENTION_S
    )
    rejection = Rejection(0, "event_time", "bad", '{"event_time": 1.5}', 1)
    await store.store_rejections([rejection, rejection])

    assert await store.list_rejections() == [
        ("event_time", "bad", '{"event_time": 1.5}')
    ]
    store.close()
