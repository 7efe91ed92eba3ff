"""Produce, process and query end to end on the real Kafka and Redis."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import orjson
import pytest
from confluent_kafka import Consumer, Producer

from gametime.backend import Backend, open_backend, open_stream_processor
from gametime.services.stream import StreamProcessor
from gametime.settings import Settings
from tests.stack_services import KAFKA

pytestmark = pytest.mark.stack

DAY = date(2024, 7, 17)
YESTERDAY = date(2024, 7, 16)


def heartbeat(user: str, game: str, time: str) -> dict[str, str]:
    return {"user_id": user, "role_id": "r1", "game_id": game, "event_time": time}


async def drain(processor: StreamProcessor, messages: int, limit_s: float = 60) -> None:
    """Step the processor until it has handled `messages` messages and caught up
    (an empty poll: the raw events it held are archived then)."""
    deadline = time.monotonic() + limit_s
    while processor.stats.messages < messages:
        assert time.monotonic() < deadline, f"processed {processor.stats}"
        await processor.step()
    while await processor.step():
        assert time.monotonic() < deadline, f"processed {processor.stats}"


async def with_pipeline(settings: Settings, scenario) -> None:  # type: ignore[no-untyped-def]
    backend = open_backend(settings)
    processor, closers = open_stream_processor(settings)
    try:
        await scenario(backend, processor)
    finally:
        await backend.close()
        for close in reversed(closers):
            await close()


def test_counts_are_exact_through_kafka_and_redis(kafka_settings: Settings) -> None:
    events = [
        # 10:00 and 10:01 in g1, twice (duplicates), sent out of order
        heartbeat("u1", "g1", "2024-07-17T10:01:30+07:00"),
        heartbeat("u1", "g1", "2024-07-17T10:00:05+07:00"),
        heartbeat("u1", "g1", "2024-07-17T10:00:59.999+07:00"),
        heartbeat("u1", "g1", "2024-07-17T10:01:30+07:00"),
        # g2 overlaps 10:01 and adds 10:02: total 3, not 4
        heartbeat("u1", "g2", "2024-07-17T03:01:10Z"),
        heartbeat("u1", "g2", "2024-07-17 10:02:00"),
        # around local midnight: 23:59:59.9 is yesterday, 17:00:00Z is today 00:00
        heartbeat("u1", "g1", "2024-07-16T23:59:59.9+07:00"),
        heartbeat("u1", "g1", "2024-07-16T17:00:00Z"),
        # a late event for yesterday
        heartbeat("u1", "g2", "2024-07-16T08:00:00+07:00"),
        heartbeat("u:2 {x}", "g1", "2024-07-17T12:00:00+07:00"),
    ]

    async def scenario(backend: Backend, processor: StreamProcessor) -> None:
        result = await backend.ingest.ingest_items(list(events))
        assert result.accepted == len(events)
        await drain(processor, len(events))

        today = await backend.playtime.day_playtime("u1", DAY)
        yesterday = await backend.playtime.day_playtime("u1", YESTERDAY)
        game = await backend.playtime.game_playtime("u1", "g2", DAY)
        other = await backend.playtime.day_playtime("u:2 {x}", DAY)
        assert (today.total_minutes, today.games) == (4, {"g1": 3, "g2": 2})
        assert (yesterday.total_minutes, yesterday.games) == (2, {"g1": 1, "g2": 1})
        assert (game.game_minutes, game.total_minutes) == (2, 4)
        assert other.total_minutes == 1

        # Replaying everything through Kafka again changes nothing.
        await backend.ingest.ingest_items(list(events))
        await drain(processor, 2 * len(events))
        again = await backend.playtime.day_playtime("u1", DAY)
        assert (again.total_minutes, again.games) == (4, {"g1": 3, "g2": 2})

    asyncio.run(with_pipeline(kafka_settings, scenario))


def dead_letters(
    settings: Settings, count: int
) -> list[tuple[bytes, dict[str, bytes]]]:
    consumer = Consumer(
        {
            "bootstrap.servers": KAFKA,
            "group.id": f"{settings.kafka_group_id}-inspect",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([settings.kafka_dead_letter_topic])
    found: list[tuple[bytes, dict[str, bytes]]] = []
    deadline = time.monotonic() + 30
    while len(found) < count and time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None or message.error():
            continue
        found.append((message.value() or b"", dict(message.headers() or [])))
    consumer.close()
    return found


def test_poison_messages_go_to_dead_letters_and_good_ones_count(
    kafka_settings: Settings,
) -> None:
    settings = kafka_settings.model_copy(update={"max_message_bytes": 64 * 1024})
    good = heartbeat("u1", "g1", "2024-07-17T10:00:00+07:00")
    poison = [
        b"not json at all",
        orjson.dumps({"user_id": "u1", "event_time": "2024-07-17T10:00:00Z"}),
        orjson.dumps(heartbeat("u1", "g1", "2024-02-30T10:00:00")),
        orjson.dumps({"user_id": ["u1"], "game_id": "g1", "event_time": 5}),
        b'{"user_id": "u1", "padding": "' + b"x" * 100_000 + b'"}',
        b"\xff\xfe\x00binary",
    ]
    # The reference's producer: one JSON object per message, no key; and an array.
    reference_style = [
        orjson.dumps(heartbeat("u1", "g1", f"2024-07-17T10:0{minute}:00+07:00"))
        for minute in range(1, 4)
    ]
    array = orjson.dumps([heartbeat("u2", "g1", "2024-07-17T10:00:00+07:00"), {}])

    producer = Producer({"bootstrap.servers": KAFKA})
    for value in [poison[0], orjson.dumps(good), *poison[1:], *reference_style, array]:
        producer.produce(settings.kafka_topic, value)
    producer.flush(30)
    total = 1 + len(poison) + len(reference_style) + 1

    async def scenario(backend: Backend, processor: StreamProcessor) -> None:
        await drain(processor, total)
        assert (await backend.playtime.day_playtime("u1", DAY)).total_minutes == 4
        assert (await backend.playtime.day_playtime("u2", DAY)).total_minutes == 1

    asyncio.run(with_pipeline(settings, scenario))

    letters = dead_letters(settings, len(poison) + 1)
    reasons = sorted(headers["field"].decode() for _, headers in letters)
    assert reasons == sorted(
        ["body", "game_id", "event_time", "user_id", "message", "body", "user_id"]
    )
    raw_values = {value for value, _ in letters}
    assert b"\xff\xfe\x00binary" in raw_values
    assert all(
        headers["origin"].startswith(settings.kafka_topic.encode())
        for _, headers in letters
    )
