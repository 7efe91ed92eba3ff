"""The Spark processor on the real stack: the same state as the native processor,
and exact counts after a crash in the middle of the stream."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from confluent_kafka import Producer

from gametime.adapters.redis import TOTAL_FIELD, day_key
from gametime.backend import ensure_stream_topics, open_backend, open_stream_processor
from gametime.domain.batch import parse_items, split_body
from gametime.domain.clock import SystemClock
from gametime.domain.events import Event, EventParser
from gametime.domain.minutes import pack, tally
from gametime.errors import InvalidInput
from gametime.settings import Settings, load_settings
from tests.stack.test_pipeline import dead_letters, drain, heartbeat
from tests.stack_services import KAFKA, REDIS_PORT, ROOT, settings_env

pytestmark = [pytest.mark.stack, pytest.mark.slow]

DAYS = (date(2024, 7, 16), date(2024, 7, 17))
Message = tuple[bytes | None, bytes | None]  # (key, value)


@pytest.fixture(scope="session")
def spark_jars(stack: None) -> Path:
    """The Kafka connector's jars, fetched once by the project's script."""
    fetched = subprocess.run(
        [str(ROOT / "deploy" / "stack" / "spark.sh"), "fetch"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(fetched.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def spark(spark_jars: Path) -> Iterator[Any]:
    """One local SparkSession for the whole run: a JVM start costs seconds."""
    from gametime.spark.session import open_session

    session = open_session(load_settings(spark_jars_dir=spark_jars))
    yield session
    session.stop()


# -- the stream ------------------------------------------------------------------


MIDNIGHT = datetime(2024, 7, 16, 17, 0, tzinfo=UTC)  # 2024-07-17 00:00 local


def live_play(users: int, seed: int) -> list[Message]:
    """Heartbeats on both sides of local midnight, with duplicates and stragglers.

    Each user's client writes times its own way (see `written`). Users play several
    games, which overlap in the total; a fifth of the messages have no key and land
    on any partition.
    """
    rng = random.Random(seed)
    messages: list[Message] = []
    for index in range(users):
        user = f"user-{index}" if index % 5 else f"user {index}/{{x}}"
        for _ in range(24):
            at = MIDNIGHT + timedelta(seconds=rng.randrange(-1_800, 1_800))
            game = f"g{rng.randrange(3)}"
            event = {**heartbeat(user, game, ""), "event_time": written(at, index % 4)}
            key = user.encode() if rng.random() < 0.8 else None
            messages.append((key, orjson.dumps(event)))
    messages += rng.sample(messages, len(messages) // 10)  # duplicates
    rng.shuffle(messages)  # out of order
    return messages


def written(at: datetime, form: int) -> int | str:
    """Epoch milliseconds, UTC, with an offset, or wall time in the local zone."""
    local = at + timedelta(hours=7)
    forms = (
        int(at.timestamp() * 1000),
        at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        local.strftime("%Y-%m-%dT%H:%M:%S+07:00"),
        local.strftime("%Y-%m-%d %H:%M:%S"),
    )
    return forms[form]


def poison() -> list[Message]:
    """Messages that cannot be counted, whole or in part; each has its reason."""
    lines = b"\n".join(
        [orjson.dumps(heartbeat("u-lines", "g1", "2024-07-17T00:00:30+07:00")), b"{"]
    )
    return [
        (None, b"not json at all"),
        (None, orjson.dumps({"user_id": "u1", "event_time": "2024-07-17T10:00:00Z"})),
        (None, orjson.dumps(heartbeat("u1", "g1", "2024-02-30T10:00:00"))),
        (None, orjson.dumps({"user_id": ["u1"], "game_id": "g1", "event_time": 5})),
        (None, b'{"user_id": "u1", "padding": "' + b"x" * 70_000 + b'"}'),
        (None, b"\xff\xfe\x00binary"),
        (None, b""),
        (b"tombstone", None),
        (None, orjson.dumps([heartbeat("u-array", "g2", "2024-07-16T16:59:59Z"), {}])),
        (None, lines),
    ]


def produce(topic: str, messages: list[Message]) -> None:
    producer = Producer({"bootstrap.servers": KAFKA, "linger.ms": 20})
    for key, value in messages:
        producer.produce(topic, value, key)
    assert producer.flush(30) == 0


def valid_events(messages: list[Message], settings: Settings) -> list[Event]:
    """The oracle's reading of the stream, by the domain's rules."""
    parser = EventParser(settings.zone, SystemClock(), settings.max_future_skew_seconds)
    items = [item for _, value in messages for item in _items(value)]
    return parse_items(items, parser, SystemClock().now_us()).events


def _items(value: bytes | None) -> list[object]:
    try:
        return split_body(value or b"", max_items=10)
    except InvalidInput:
        return []


def expected_state(messages: list[Message], settings: Settings) -> dict[bytes, Any]:
    """Every Redis hash the stream's valid events make."""
    marks = tally(valid_events(messages, settings), settings.calendar())
    state: dict[bytes, Any] = {}
    for (user, day, game), minutes in marks.games.items():
        state.setdefault(day_key(user, day).encode(), {})[game.encode()] = pack(minutes)
    for (user, day), minutes in marks.totals.items():
        state[day_key(user, day).encode()][TOTAL_FIELD.encode()] = pack(minutes)
    return state


# -- what the pipelines leave behind ---------------------------------------------


def redis_state(settings: Settings) -> dict[bytes, Any]:
    """Every hash of the settings' Redis database; each must expire."""
    client = redis.Redis.from_url(settings.redis_url)
    try:
        keys = list(client.scan_iter(count=1_000))
        assert all(client.ttl(key) > 0 for key in keys)
        return {key: client.hgetall(key) for key in keys}
    finally:
        client.close()


def cassandra_rows(settings: Settings) -> dict[tuple[str, date], list[object]]:
    """The raw events of every user-day of DAYS, in the store's order."""

    async def read() -> dict[tuple[str, date], list[object]]:
        backend = open_backend(settings)
        try:
            rows = {}
            for day in DAYS:
                for user in await backend.archive.users_on(day):
                    rows[(user, day)] = await backend.archive.events_of(user, day)
            return rows
        finally:
            await backend.close()

    return asyncio.run(read())


def letters(settings: Settings, count: int) -> list[tuple[bytes, list[Any]]]:
    found = dead_letters(settings, count)
    assert len(found) == count
    return sorted((value, sorted(headers.items())) for value, headers in found)


# -- running the processors --------------------------------------------------------


def run_native(settings: Settings, messages: int) -> None:
    async def count() -> None:
        processor, closers = open_stream_processor(settings)
        try:
            await drain(processor, messages)
        finally:
            for close in reversed(closers):
                await close()

    asyncio.run(count())


def run_spark(spark: Any, settings: Settings) -> Any:
    from gametime.spark.job import run

    return run(spark, settings, threading.Event(), available_now=True)


def with_spark(settings: Settings, checkpoint: Path, jars: Path) -> Settings:
    return settings.model_copy(
        update={"spark_checkpoint_dir": str(checkpoint), "spark_jars_dir": jars}
    )


def beside(settings: Settings, redis_db: int) -> Settings:
    """The same topic, counted into a Redis database and keyspace of its own."""
    return settings.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:{REDIS_PORT}/{redis_db}",
            "cassandra_keyspace": f"{settings.cassandra_keyspace}_spark",
            "kafka_dead_letter_topic": f"{settings.kafka_dead_letter_topic}-spark",
            "kafka_group_id": f"{settings.kafka_group_id}-spark",
        }
    )


def test_spark_and_native_processors_leave_identical_state(
    kafka_settings: Settings,
    second_redis_db: int,
    spark: Any,
    spark_jars: Path,
    tmp_path: Path,
) -> None:
    # Small batches: several micro-batches, each partition in several steps.
    native = kafka_settings.model_copy(
        update={
            "max_message_bytes": 64 * 1024,
            "processor_batch_size": 40,
            "spark_max_offsets_per_trigger": 300,
        }
    )
    sparked = with_spark(
        beside(native, second_redis_db), tmp_path / "checkpoint", spark_jars
    )
    messages = live_play(users=25, seed=7) + poison()
    ensure_stream_topics(native)
    produce(native.kafka_topic, messages)

    run_native(native, len(messages))
    stats = run_spark(spark, sparked)

    assert (stats.messages, stats.dead_letters) == (len(messages), 10)
    assert stats.batches >= 2
    state = redis_state(sparked)
    assert state == redis_state(native)
    assert state == expected_state(messages, native)
    rows = cassandra_rows(sparked)
    assert rows == cassandra_rows(native)
    assert {user for user, _ in rows} >= {"user 0/{x}", "u-array", "u-lines"}
    assert letters(sparked, 10) == letters(native, 10)


def test_spark_query_killed_mid_stream_resumes_to_exact_counts(
    kafka_settings: Settings, spark_jars: Path, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "checkpoint"
    settings = with_spark(kafka_settings, checkpoint, spark_jars)
    messages = live_play(users=40, seed=11)
    ensure_stream_topics(settings)
    produce(settings.kafka_topic, messages)
    env = {
        **settings_env(settings),
        "GAMETIME_SPARK_CHECKPOINT_DIR": str(checkpoint),
        "GAMETIME_SPARK_JARS_DIR": str(spark_jars),
        "GAMETIME_SPARK_MAX_OFFSETS_PER_TRIGGER": "150",
        "GAMETIME_SPARK_TRIGGER_SECONDS": "0",
    }
    log = tmp_path / "spark.log"

    crashed = start_spark(env, log)
    try:
        wait_mid_batch(checkpoint, crashed, log)
    finally:
        os.killpg(crashed.pid, signal.SIGKILL)  # the driver, its JVM and workers
        crashed.wait()
    assert redis_state(settings) != expected_state(messages, settings)

    resumed = start_spark(env, log, "--available-now")
    assert resumed.wait(timeout=240) == 0, log.read_text()[-3_000:]
    assert redis_state(settings) == expected_state(messages, settings)
    rows = cassandra_rows(settings)
    distinct = {event.key for event in valid_events(messages, settings)}
    assert sum(map(len, rows.values())) == len(distinct)


def start_spark(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    gametime = str(Path(sys.executable).with_name("gametime"))
    with log.open("ab") as out:
        return subprocess.Popen(
            [gametime, "spark", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as a whole
        )


def wait_mid_batch(
    checkpoint: Path, process: subprocess.Popen[bytes], log: Path
) -> None:
    """Until two micro-batches are committed and a third has begun."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3_000:]
        begun, committed = (
            len(_entries(checkpoint / name)) for name in ("offsets", "commits")
        )
        if committed >= 2 and begun > committed:
            return
        time.sleep(0.02)
    pytest.fail(f"no micro-batch in flight after 120 s: {log.read_text()[-3_000:]}")


def _entries(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [path for path in folder.iterdir() if not path.name.startswith(".")]
