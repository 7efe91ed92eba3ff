"""Stale counts and lost state on the real stack: what the allowance answers, and
how a rebuild heals a Redis that came back empty."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gametime.backend import (
    Backend,
    open_backend,
    open_heartbeat,
    open_stream_processor,
)
from gametime.domain.policy import Reason
from gametime.settings import Settings
from tests.stack.test_pipeline import drain
from tests.stack_services import ROOT, STACK, settings_env

pytestmark = pytest.mark.stack

REDIS_DATA = Path(os.environ.get("GAMETIME_STACK_DIR", ROOT / ".stack")) / "redis"


def recent_play(users: int, minutes: int) -> list[dict[str, str]]:
    """Play in the last minutes before now, so today's allowance sees it."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return [
        {
            "user_id": f"p{user}",
            "game_id": "g1",
            "event_time": (now - timedelta(minutes=minute, seconds=-user)).isoformat(),
        }
        for user in range(users)
        for minute in range(1, minutes + 1)
    ]


async def wait_for(predicate, limit_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit_s
    while not await predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.5)


def test_allowance_refuses_minors_while_no_processor_reports(
    kafka_settings: Settings,
) -> None:
    async def scenario() -> None:
        backend = open_backend(kafka_settings)
        try:
            await backend.health.mark_new_state()
            answer = await backend.playtime.allowance("p0", "g1")
            assert answer.stale is True
            assert answer.decision.reason is Reason.DATA_STALE
            assert answer.decision.allowed is False

            heartbeat, closers = open_heartbeat(kafka_settings, lambda: 0)
            await heartbeat.beat()
            for close in closers:
                await close()
            await asyncio.sleep(1.1)  # past the health cache
            fresh = await backend.playtime.allowance("p0", "g1")
            assert fresh.stale is False
            assert fresh.decision.allowed is True
        finally:
            await backend.close()

    asyncio.run(scenario())


def restart_redis_empty() -> float:
    """Stop Redis, delete its files, start it again; returns the seconds it took."""
    started = time.monotonic()
    subprocess.run([str(STACK), "down", "redis"], check=True)
    shutil.rmtree(REDIS_DATA / "appendonlydir", ignore_errors=True)
    subprocess.run([str(STACK), "up", "redis"], check=True)
    return time.monotonic() - started


def test_redis_restarted_empty_is_reported_and_a_rebuild_brings_every_count_back(
    kafka_settings: Settings,
) -> None:
    events = recent_play(users=5, minutes=20)
    users = sorted({event["user_id"] for event in events})

    async def totals(backend: Backend) -> list[int]:
        return [(await backend.playtime.day_playtime(u)).total_minutes for u in users]

    async def scenario() -> None:
        backend = open_backend(kafka_settings)
        processor, closers = open_stream_processor(kafka_settings)
        heartbeat, beat_closers = open_heartbeat(kafka_settings, lambda: 0)
        try:
            await backend.health.mark_new_state()
            await heartbeat.beat()
            await backend.ingest.ingest_items(list(events))
            await drain(processor, len(events))
            before = await totals(backend)
            assert all(total > 0 for total in before)
            await asyncio.sleep(1.1)
            assert not (await backend.health.check()).degraded

            outage_s = await asyncio.to_thread(restart_redis_empty)

            async def lost() -> bool:
                await heartbeat.beat()
                problems = (await backend.health.check()).problems
                return any("lost its state" in problem for problem in problems)

            await wait_for(lost)
            refused = await backend.playtime.allowance(users[0], "g1")
            assert refused.decision.reason is Reason.DATA_STALE

            started = time.monotonic()
            rebuild = await asyncio.to_thread(
                subprocess.run,
                [str(Path(sys.executable).with_name("gametime")), "rebuild", "--all"],
                env=settings_env(kafka_settings),
                capture_output=True,
                text=True,
            )
            assert rebuild.returncode == 0, rebuild.stderr
            rebuild_s = time.monotonic() - started

            async def healed() -> bool:
                await heartbeat.beat()
                return not (await backend.health.check()).degraded

            await wait_for(healed)
            assert await totals(backend) == before
            print(
                f"reliability: redis-lost events={len(events)} minutes={sum(before)} "
                f"lost_after_rebuild=0 duplicated=0 redis_restart_s={outage_s:.1f} "
                f"rebuild_s={rebuild_s:.1f}"
            )
        finally:
            await backend.close()
            for close in reversed([*closers, *beat_closers]):
                await close()

    asyncio.run(scenario())
