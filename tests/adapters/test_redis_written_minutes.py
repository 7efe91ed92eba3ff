"""The Redis store sends a user-day field only when it holds a minute not yet sent.

Repeats are spared by the store's memory of what it wrote (`WrittenMinutes`); these
tests show that memory from outside by removing a key behind the store's back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
import redis.asyncio as aioredis

from gametime.adapters.redis import RedisStore, day_key
from gametime.adapters.written_minutes import WrittenMinutes
from gametime.domain.minutes import MinuteMarks, minute_bit
from tests.stack_services import REDIS_PORT

pytestmark = [pytest.mark.stack, pytest.mark.anyio]

DAY = date(2024, 7, 17)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def played(game: str, *minutes: int) -> MinuteMarks:
    bits = 0
    for minute in minutes:
        bits |= minute_bit(minute)
    return MinuteMarks(games={("u", DAY, game): bits}, totals={("u", DAY): bits})


@pytest.fixture
async def client(redis_db: int) -> AsyncIterator[aioredis.Redis]:
    connection = aioredis.Redis(port=REDIS_PORT, db=redis_db)
    yield connection
    await connection.aclose()


async def test_repeated_minutes_are_not_sent_again_until_a_new_one_comes(
    client: aioredis.Redis,
) -> None:
    store = RedisStore(client, retention_s=3_600)
    await store.mark_minutes(played("g1", 10, 11))
    await client.delete(day_key("u", DAY))  # behind the store's back

    await store.mark_minutes(played("g1", 10, 11))
    assert await store.read_game("u", DAY, "g1") == (0, 0)

    # A field with a new minute is sent whole: the repeats come back with it.
    await store.mark_minutes(played("g1", 10, 11, 12))
    assert await store.read_game("u", DAY, "g1") == (3, 3)


async def test_a_new_game_minute_already_in_the_total_still_reaches_its_game(
    client: aioredis.Redis,
) -> None:
    store = RedisStore(client, retention_s=3_600)
    await store.mark_minutes(played("g1", 10))
    await store.mark_minutes(played("g2", 10))

    usage = await store.read_day("u", DAY)
    assert (usage.total_minutes, usage.games) == (1, {"g1": 1, "g2": 1})


async def test_replacing_a_day_forgets_what_was_written(
    client: aioredis.Redis,
) -> None:
    store = RedisStore(client, retention_s=3_600)
    await store.mark_minutes(played("g1", 10, 11))
    await store.replace_day("u", DAY, played("g2", 1))

    await store.mark_minutes(played("g1", 10, 11))
    usage = await store.read_day("u", DAY)
    assert (usage.total_minutes, usage.games) == (3, {"g1": 2, "g2": 1})


async def test_without_memory_every_mark_is_sent(client: aioredis.Redis) -> None:
    store = RedisStore(client, retention_s=3_600, written=WrittenMinutes(max_age_s=0))
    await store.mark_minutes(played("g1", 10))
    await client.delete(day_key("u", DAY))

    await store.mark_minutes(played("g1", 10))
    assert await store.read_game("u", DAY, "g1") == (1, 1)
