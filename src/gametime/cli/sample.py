"""`gametime sample`: load a small sample of today's play, so a new user has data.

The sample is a generated day for a few users, cut at the present moment (the
service refuses events from the future), plus the last 45 minutes of play for
`SAMPLE_USER` in `SAMPLE_GAME`, so the example queries printed by `make run` show a
minor close to the game limit. Loading it twice changes nothing: ingestion is
idempotent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import orjson
import typer

from gametime.backend import open_backend
from gametime.cli.main import app, configure_logging, settings_or_exit
from gametime.domain.clock import SystemClock
from gametime.domain.event_time import instant_datetime, parse_event_time
from gametime.generator import DaySpec, generate
from gametime.settings import Settings

SAMPLE_USER = "user-1"
SAMPLE_GAME = "game-1"
RECENT_MINUTES = 45
BATCH = 20_000


@app.command()
def sample(
    users: int = typer.Option(20, min=1, max=1_000, help="How many users play"),
    seed: int = typer.Option(7, help="Seed of the generated day"),
) -> None:
    """Load today's sample play into the configured backend."""
    settings = settings_or_exit()
    configure_logging(settings)
    accepted = asyncio.run(_load(settings, users, seed))
    typer.echo(f"sample loaded: {accepted:,} events of today until now")


async def _load(settings: Settings, users: int, seed: int) -> int:
    backend = open_backend(settings)
    accepted = 0
    try:
        batch: list[object] = []
        for item in _events(settings, users, seed):
            batch.append(item)
            if len(batch) == BATCH:
                accepted += (await backend.ingest.ingest_items(batch)).accepted
                batch = []
        accepted += (await backend.ingest.ingest_items(batch)).accepted
    finally:
        await backend.close()
    return accepted


def _events(settings: Settings, users: int, seed: int) -> Iterator[object]:
    now_us = SystemClock().now_us()
    today = settings.calendar().today(now_us)
    spec = DaySpec(users=users, games=3, day=today, seed=seed, zone=settings.zone)
    for chunk in generate(spec):
        for line in chunk.splitlines():
            event = orjson.loads(line)
            if parse_event_time(event["event_time"], settings.zone) <= now_us:
                yield event
    yield from _recent_play(settings, now_us)


def _recent_play(settings: Settings, now_us: int) -> Iterator[object]:
    now = instant_datetime(now_us, settings.zone)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for seconds_ago in range(0, RECENT_MINUTES * 60, 10):
        moment = now - timedelta(seconds=seconds_ago)
        if moment >= midnight:
            yield {
                "user_id": SAMPLE_USER,
                "role_id": f"{SAMPLE_USER}.r1",
                "game_id": SAMPLE_GAME,
                "event_time": moment.isoformat(),
            }
