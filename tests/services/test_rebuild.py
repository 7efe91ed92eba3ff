"""Rebuilding minutes from raw events: restoring by default, exactly on request.

Run on the embedded store; the same on Redis and Cassandra is in tests/stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from gametime.adapters.sqlite import SqliteStore
from gametime.domain.clock import FixedClock
from gametime.domain.events import Event
from gametime.domain.minutes import tally
from gametime.services.rebuild import Rebuilder
from gametime.settings import load_settings
from tests.conftest import NOON_2024_07_17, micros

pytestmark = pytest.mark.anyio

DAY = date(2024, 7, 17)
NOON_US = micros(NOON_2024_07_17)
MINUTE_US = 60_000_000
CALENDAR = load_settings().calendar()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(
        tmp_path / "rebuild.sqlite3", CALENDAR, FixedClock(NOON_US), 86_400 * 30
    )
    yield store
    store.close()


def played(minute: int, game: str = "g") -> Event:
    instant = NOON_US + minute * MINUTE_US
    return Event("u", game, None, instant, str(instant))


async def test_a_rebuild_restores_missing_minutes_and_keeps_the_rest(
    store: SqliteStore,
) -> None:
    await store.store_events([played(0), played(1), played(2, "h")])
    # Counted, its raw event still held by a processor: not in the raw store yet.
    await store.mark_minutes(tally([played(0), played(5)], CALENDAR))

    report = await Rebuilder(store, store, CALENDAR).rebuild(DAY)

    usage = await store.read_day("u", DAY)
    assert (usage.total_minutes, usage.games) == (4, {"g": 3, "h": 1})
    assert [change.user_id for change in report.changed] == ["u"]
    assert report.changed[0].before.total_minutes == 2


async def test_an_exact_rebuild_makes_the_minutes_equal_the_raw_events(
    store: SqliteStore,
) -> None:
    await store.store_events([played(0), played(1)])
    await store.mark_minutes(tally([played(0), played(5), played(6, "x")], CALENDAR))

    await Rebuilder(store, store, CALENDAR).rebuild(DAY, "u", exact=True)

    usage = await store.read_day("u", DAY)
    assert (usage.total_minutes, usage.games) == (2, {"g": 2})


async def test_a_rebuild_that_changes_nothing_reports_nothing(
    store: SqliteStore,
) -> None:
    events = [played(0), played(1, "h")]
    await store.store_events(events)
    await store.mark_minutes(tally(events, CALENDAR))

    report = await Rebuilder(store, store, CALENDAR).rebuild(DAY)

    assert (report.users, report.events, report.changed) == (1, 2, [])
