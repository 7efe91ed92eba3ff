"""What only the Cassandra store does: its minute rows, migrations and batching.

The behaviour every raw-event store shares is in test_store_contract.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cassandra.query import BatchStatement

from gametime.adapters import cassandra
from gametime.adapters.cassandra import CassandraOptions, CassandraStore, migrate
from gametime.domain.clock import FixedClock
from gametime.domain.events import Event
from gametime.settings import load_settings
from tests.conftest import NOON_2024_07_17, micros
from tests.stack_services import CASSANDRA_PORT

pytestmark = [pytest.mark.anyio, pytest.mark.stack]

DAY = date(2024, 7, 17)
NOON_US = micros(NOON_2024_07_17)
MINUTE_US = 60_000_000
CALENDAR = load_settings().calendar()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def options(stack: None) -> Iterator[CassandraOptions]:
    options = load_settings(
        cassandra_port=CASSANDRA_PORT,
        cassandra_keyspace=f"adapter_{uuid.uuid4().hex[:10]}",
    ).cassandra_options()
    yield options
    cluster = cassandra.connect(options)
    try:
        cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {options.keyspace}")
    finally:
        cluster.shutdown()


def heartbeats(user: str, minutes: int, per_minute: int) -> list[Event]:
    every_us = MINUTE_US // per_minute
    return [
        Event(user, "g", "r", instant, f"t{instant}")
        for minute in range(minutes)
        for beat in range(per_minute)
        for instant in [NOON_US + minute * MINUTE_US + beat * every_us]
    ]


def rows_of(store: CassandraStore, user: str) -> list[Any]:
    return list(
        store.session.execute(
            f"SELECT epoch_minute, events FROM {store.options.keyspace}"
            ".raw_event_minutes WHERE user_id = %s AND day = %s",
            (user, DAY),
        )
    )


async def test_a_users_events_of_a_minute_share_one_row(
    options: CassandraOptions,
) -> None:
    store = CassandraStore(options, FixedClock(NOON_US), CALENDAR)
    events = heartbeats("u", minutes=3, per_minute=10)
    await store.store_events(events[:15])
    await store.store_events(events[10:])  # overlapping: five are replays

    rows = rows_of(store, "u")
    assert [row.epoch_minute for row in rows] == [
        NOON_US // MINUTE_US + minute for minute in range(3)
    ]
    assert [len(row.events) for row in rows] == [10, 10, 10]
    assert await store.events_of("u", DAY) == events
    await store.close()


async def test_many_users_are_written_in_bounded_batches(
    options: CassandraOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cassandra, "BATCH_STATEMENTS", 3)
    monkeypatch.setattr(cassandra, "BATCH_BYTES", 400)
    store = CassandraStore(options, FixedClock(NOON_US), CALENDAR)
    sent: list[int] = []
    execute = store._execute

    async def counting(statement: Any) -> list[Any]:
        if isinstance(statement, BatchStatement):
            sent.append(len(statement))
        return await execute(statement)

    monkeypatch.setattr(store, "_execute", counting)
    users = [f"user-{index}" for index in range(20)]
    await store.store_events([e for u in users for e in heartbeats(u, 2, 4)])

    # 40 minute rows and 20 day_users rows, at most 3 statements a batch.
    assert sum(sent) == 60
    assert max(sent) <= 3
    assert await store.users_on(DAY) == sorted(users)
    sent.clear()
    await store.store_events(heartbeats("user-0", 1, 4))
    assert sum(sent) == 1  # the day_users row is remembered, not sent again
    await store.close()


async def test_a_flood_of_events_in_one_minute_is_written_in_bounded_pieces(
    options: CassandraOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CassandraStore(options, FixedClock(NOON_US), CALENDAR)
    sizes: list[int] = []
    execute = store._execute

    async def measuring(statement: Any) -> list[Any]:
        if isinstance(statement, BatchStatement):
            sizes.append(
                sum(len(v[1]) for _, _, v in statement._statements_and_parameters)
            )
        return await execute(statement)

    monkeypatch.setattr(store, "_execute", measuring)
    flood = [
        Event("u", "g" * 100, "r" * 100, NOON_US + index, "t" * 60)
        for index in range(3_000)
    ]
    await store.store_events(flood)

    assert max(sizes) <= cassandra.BATCH_BYTES
    assert len(rows_of(store, "u")) == 1
    assert await store.events_of("u", DAY) == flood
    await store.close()


async def test_migration_copies_one_row_an_event_into_minute_rows(
    options: CassandraOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster = cassandra.connect(options)
    session = cluster.connect()
    monkeypatch.setattr(cassandra, "MIGRATIONS", cassandra.MIGRATIONS[:4])
    assert migrate(session, options) == [1, 2, 3, 4]
    insert = session.prepare(
        f"INSERT INTO {options.keyspace}.raw_events (user_id, day, instant_us,"
        " game_id, role_id, event_time, received_us) VALUES (?, ?, ?, ?, ?, ?, 0)"
        " USING TTL ?"
    )
    session.execute(insert, ("u", DAY, NOON_US + 1, "g", "", "late", 0))
    session.execute(insert, ("u", DAY, NOON_US, "g", "mage", "noon", 0))
    session.execute(insert, ("u", DAY, NOON_US + 2, "g", "", "expiring", 2))
    session.execute(insert, ("u", DAY, NOON_US + MINUTE_US, "g2", "r", "next", 0))
    for index in range(20):  # another user's, over several pages of the copy
        session.execute(insert, ("v", DAY, NOON_US + index, "g", "", str(index), 0))
    monkeypatch.undo()
    monkeypatch.setattr(cassandra, "COPY_PAGE_ROWS", 3)

    assert migrate(session, options) == [5]
    assert migrate(session, options) == []
    cluster.shutdown()
    await asyncio.sleep(3)  # the copy keeps what is left of a row's TTL

    store = CassandraStore(options, FixedClock(NOON_US), CALENDAR)
    assert await store.events_of("u", DAY) == [
        Event("u", "g", "mage", NOON_US, "noon"),
        Event("u", "g", None, NOON_US + 1, "late"),
        Event("u", "g2", "r", NOON_US + MINUTE_US, "next"),
    ]
    assert [e.event_time for e in await store.events_of("v", DAY)] == [
        str(index) for index in range(20)
    ]
    await store.close()


async def test_a_minute_split_by_local_midnight_goes_to_both_days(
    options: CassandraOptions,
) -> None:
    # Before 1906 Ho Chi Minh City kept local mean time, UTC+7:06:30: its
    # midnight fell 30 seconds into a minute.
    midnight = datetime(1900, 1, 2, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    midnight_us = int(midnight.timestamp()) * 1_000_000
    before = Event("u", "g", None, midnight_us - 10_000_000, "1900-01-01 23:59:50")
    after = Event("u", "g", None, midnight_us + 10_000_000, "1900-01-02 00:00:10")
    assert before.instant_us // MINUTE_US == after.instant_us // MINUTE_US
    store = CassandraStore(options, FixedClock(NOON_US), CALENDAR)
    await store.store_events([before, after])

    assert await store.events_of("u", date(1900, 1, 1)) == [before]
    assert await store.events_of("u", date(1900, 1, 2)) == [after]
    await store.close()
