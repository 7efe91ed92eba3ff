"""Raw events in Cassandra: exact rows, rebuilds, and riding out an outage."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path

import pytest
import redis

from gametime.backend import Backend, open_backend, open_stream_processor
from gametime.errors import BackendUnavailable
from gametime.services.stream import StreamProcessor
from gametime.settings import Settings
from tests.stack.test_pipeline import drain, heartbeat, with_pipeline
from tests.stack_services import REDIS_PORT, STACK, settings_env

pytestmark = pytest.mark.stack

DAYS = (date(2024, 7, 16), date(2024, 7, 17))
USERS = ("u1", "u:2", "u{3}")


def around_midnight() -> list[dict[str, str]]:
    """Play on both sides of local midnight, with naive and UTC times."""
    events = []
    for index, user in enumerate(USERS):
        for minute in range(50, 60):
            events.append(heartbeat(user, "g1", f"2024-07-16 23:{minute}:{index}5"))
        for minute in range(0, 10 + index):
            events.append(heartbeat(user, "g2", f"2024-07-16T17:{minute:02d}:30Z"))
        events.append(heartbeat(user, "g1", "2024-07-17T00:05:00+07:00"))
    return events


async def snapshot(backend: Backend) -> dict[tuple[str, date], object]:
    found = {}
    for user in USERS:
        for day in DAYS:
            usage = await backend.minutes.read_day(user, day)
            found[(user, day)] = (usage.total_minutes, usage.games)
    return found


def test_naive_times_are_stored_as_the_right_instant(kafka_settings: Settings) -> None:
    async def scenario(backend: Backend, processor: StreamProcessor) -> None:
        await backend.ingest.ingest_items(
            [heartbeat("u1", "g1", "2024-07-16 23:59:59.123456")]
        )
        await drain(processor, 1)
        listed = await backend.raw_events.list_events("u1", DAYS[0], None, 10)
        assert [e.instant_us for e in listed.events] == [1_721_149_199_123_456]
        assert listed.events[0].event_time == "2024-07-16 23:59:59.123456"

    asyncio.run(with_pipeline(kafka_settings, scenario))


def test_replayed_batches_leave_the_same_rows(kafka_settings: Settings) -> None:
    events = around_midnight()

    async def scenario(backend: Backend, processor: StreamProcessor) -> None:
        await backend.ingest.ingest_items(events)
        for start in range(0, len(events), 7):  # the same events, batched otherwise
            await backend.ingest.ingest_items(events[start : start + 7])
        await drain(processor, 2 * len(events))
        for user in USERS:
            stored = await backend.archive.events_of(user, DAYS[1])
            assert len(stored) == len({e.key for e in stored})
        rows = [len(await backend.archive.events_of(u, d)) for u in USERS for d in DAYS]
        assert sum(rows) == len(events)

    asyncio.run(with_pipeline(kafka_settings, scenario))


def test_rebuild_after_redis_lost_everything_restores_every_count(
    kafka_settings: Settings,
) -> None:
    async def live(backend: Backend, processor: StreamProcessor) -> None:
        await backend.ingest.ingest_items(around_midnight())
        await drain(processor, len(around_midnight()))
        counted.update(await snapshot(backend))

    counted: dict[tuple[str, date], object] = {}
    asyncio.run(with_pipeline(kafka_settings, live))
    assert counted[("u{3}", DAYS[1])] == (12, {"g1": 1, "g2": 12})
    db = int(kafka_settings.redis_url.rsplit("/", 1)[1])
    redis.Redis(port=REDIS_PORT, db=db).flushdb()  # the loss, in this test's db

    gametime = str(Path(sys.executable).with_name("gametime"))
    for day in DAYS:
        result = subprocess.run(
            [gametime, "rebuild", "--date", day.isoformat()],
            env=settings_env(kafka_settings),
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        assert "users=3" in result.stdout

    async def rebuilt() -> dict[tuple[str, date], object]:
        backend = open_backend(kafka_settings)
        try:
            return await snapshot(backend)
        finally:
            await backend.close()

    assert asyncio.run(rebuilt()) == counted


async def stored_rows(backend: Backend) -> int:
    return sum(
        [len(await backend.archive.events_of(u, d)) for u in USERS for d in DAYS]
    )


async def retrying(read: Callable[[], Awaitable[int]], limit_s: float) -> int:
    deadline = time.monotonic() + limit_s
    while True:
        try:
            return await read()
        except BackendUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)


def test_processor_waits_out_a_cassandra_outage_and_loses_nothing(
    kafka_settings: Settings,
) -> None:
    events = around_midnight()

    async def scenario() -> None:
        backend = open_backend(kafka_settings)
        processor, closers = open_stream_processor(kafka_settings)
        stop = asyncio.Event()
        try:
            subprocess.run([str(STACK), "down", "cassandra"], check=True)
            await backend.ingest.ingest_items(events)  # Kafka still takes events
            running = asyncio.create_task(processor.run(stop))
            await asyncio.sleep(3)
            # Paused: counted, but nothing archived, so every offset is held.
            assert processor.stats.archived == 0
            assert processor.buffer is not None
            assert len(processor.buffer) == len(events)
            await asyncio.to_thread(
                subprocess.run, [str(STACK), "up", "cassandra"], check=True
            )
            deadline = time.monotonic() + 90
            while processor.stats.archived < len(events):
                assert time.monotonic() < deadline, processor.stats
                await asyncio.sleep(0.2)
            stop.set()
            await running
            # This reader's own driver session reconnects on its own schedule, a
            # few seconds after the processor's: read as a client would, retrying.
            stored = await retrying(lambda: stored_rows(backend), limit_s=30)
            assert stored == len(events)
            usage = await backend.minutes.read_day("u{3}", DAYS[1])
            assert (usage.total_minutes, usage.games) == (12, {"g1": 1, "g2": 12})
        finally:
            subprocess.run([str(STACK), "up", "cassandra"], check=True)
            await backend.close()
            for close in reversed(closers):
                await close()

    asyncio.run(scenario())


def test_raw_events_held_when_a_processor_dies_are_replayed_by_the_next(
    kafka_settings: Settings,
) -> None:
    events = [heartbeat("u1", "g1", f"2024-07-17T12:00:{s:02d}+07:00") for s in (5, 35)]

    async def scenario() -> None:
        backend = open_backend(kafka_settings)
        try:
            await backend.ingest.ingest_items(events)
            first, closers = open_stream_processor(kafka_settings)
            deadline = time.monotonic() + 60
            while first.stats.messages < len(events):
                assert time.monotonic() < deadline, first.stats
                await first.step()
            usage = await backend.minutes.read_day("u1", DAYS[1])
            assert usage.total_minutes == 1  # counted at once
            assert await backend.archive.events_of("u1", DAYS[1]) == []  # held
            for close in reversed(closers):  # dies: no archive, no commit
                await close()

            second, closers = open_stream_processor(kafka_settings)
            try:
                await drain(second, len(events))
            finally:
                for close in reversed(closers):
                    await close()
            assert second.stats.messages == len(events)  # the group replayed them
            stored = await backend.archive.events_of("u1", DAYS[1])
            assert [e.event_time for e in stored] == [e["event_time"] for e in events]
        finally:
            await backend.close()

    asyncio.run(scenario())
