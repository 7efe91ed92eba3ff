"""Faults on the real stack: a broker restart mid-stream.

Figures for docs/reliability.md are printed as `reliability:` lines (run with -s).
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gametime.backend import Backend, open_backend, open_stream_processor
from gametime.errors import BackendError
from gametime.settings import Settings
from tests.stack_services import STACK

pytestmark = pytest.mark.stack

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2024, 7, 17, 16, 30, tzinfo=UTC)  # 23:30 local: crosses midnight


def events_of(users: int, minutes: int, seed: int) -> list[dict[str, str]]:
    """Heartbeats every 20 s, in two games, shuffled, with some duplicates."""
    rng = random.Random(seed)
    events = []
    for user in range(users):
        for second in range(0, minutes * 60, 20):
            moment = START + timedelta(seconds=second + user)
            game = f"g{(second // 600 + user) % 2}"
            events.append(
                {
                    "user_id": f"u{user}",
                    "game_id": game,
                    "event_time": moment.isoformat(),
                }
            )
    events += rng.sample(events, len(events) // 20)
    rng.shuffle(events)
    return events


def oracle(events: list[dict[str, str]]) -> dict[tuple[str, str], int]:
    """(user, local day) -> distinct minutes in total, computed independently."""
    minutes: defaultdict[tuple[str, str], set[datetime]] = defaultdict(set)
    for event in events:
        local = datetime.fromisoformat(event["event_time"]).astimezone(ZONE)
        minutes[(event["user_id"], local.date().isoformat())].add(
            local.replace(second=0, microsecond=0)
        )
    return {key: len(found) for key, found in minutes.items()}


async def counted(
    backend: Backend, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    found = {}
    for user, day in keys:
        usage = await backend.minutes.read_day(user, datetime.fromisoformat(day).date())
        found[(user, day)] = usage.total_minutes
    return found


async def publish_with_retries(
    backend: Backend, batches: list[list[dict[str, str]]]
) -> tuple[int, list[float]]:
    """Send every batch, retrying a failed one as a client would; (retries, gaps)."""
    retries = 0
    failures: list[float] = []
    for batch in batches:
        while True:
            try:
                await backend.ingest.ingest_items(list(batch))
                break
            except BackendError:
                retries += 1
                failures.append(time.monotonic())
                await asyncio.sleep(0.5)
        await asyncio.sleep(0.05)
    return retries, failures


def test_a_broker_restart_mid_stream_loses_and_doubles_nothing(
    kafka_settings: Settings,
) -> None:
    events = events_of(users=40, minutes=60, seed=3)
    expected = oracle(events)
    batches = [events[start : start + 500] for start in range(0, len(events), 500)]

    async def scenario() -> None:
        backend = open_backend(kafka_settings)
        processor, closers = open_stream_processor(kafka_settings)
        stop = asyncio.Event()
        processing = asyncio.create_task(processor.run(stop))
        try:
            sending = asyncio.create_task(publish_with_retries(backend, batches))
            await asyncio.sleep(1.0)
            restarted_at = time.monotonic()
            await asyncio.to_thread(
                subprocess.run, [str(STACK), "down", "kafka"], check=True
            )
            await asyncio.to_thread(
                subprocess.run, [str(STACK), "up", "kafka"], check=True
            )
            retries, _failures = await sending
            deadline = time.monotonic() + 120
            keys = sorted(expected)
            while (found := await counted(backend, keys)) != expected:
                assert time.monotonic() < deadline, {
                    k: (found[k], expected[k]) for k in keys if found[k] != expected[k]
                }
                await asyncio.sleep(0.5)
            recovered_s = time.monotonic() - restarted_at
            stored = 0
            for user, day in expected:
                day_date = datetime.fromisoformat(day).date()
                stored += len(await backend.archive.events_of(user, day_date))
            distinct = len(
                {(e["user_id"], e["game_id"], e["event_time"]) for e in events}
            )
            assert stored == distinct
            print(
                f"reliability: broker-restart sent={len(events)} distinct={distinct} "
                f"stored={stored} minutes={sum(expected.values())} lost=0 "
                f"duplicated=0 client_retries={retries} "
                f"recovered_after_s={recovered_s:.1f}"
            )
        finally:
            stop.set()
            await processing
            await backend.close()
            for close in reversed(closers):
                await close()

    asyncio.run(scenario())
