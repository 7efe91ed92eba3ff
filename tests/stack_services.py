"""The real local stack for integration tests (a pytest plugin of the suite).

The session starts what is not already running through the project's own scripts
(deploy/stack/stack.sh) and stops, at the end, only what it started. Each test gets
its own topic, consumer group and Redis database, so tests never see each other's
events.
"""

from __future__ import annotations

import asyncio
import bisect
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from gametime.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
STACK = ROOT / "deploy" / "stack" / "stack.sh"
KAFKA = "127.0.0.1:" + os.environ.get("GAMETIME_KAFKA_PORT", "19092")
REDIS_PORT = int(os.environ.get("GAMETIME_REDIS_PORT", "16379"))
# Cassandra first: it is the slowest to start.
SERVICES = ("cassandra", "redis", "kafka")
CASSANDRA_PORT = int(os.environ.get("GAMETIME_CASSANDRA_PORT", "19042"))


def _running(service: str) -> bool:
    return (
        subprocess.run([str(STACK), "status", service], capture_output=True).returncode
        == 0
    )


@pytest.fixture(scope="session")
def stack() -> Iterator[None]:
    started = [service for service in SERVICES if not _running(service)]
    if started:
        subprocess.run([str(STACK), "up", *started], check=True)
    yield
    if started and not os.environ.get("GAMETIME_KEEP_STACK"):
        subprocess.run([str(STACK), "down", *started], check=False)


# Databases 1 to 15 (0 is the service's), lent to one test at a time: a test takes
# the lowest free one and gives it back when it ends, so the suite never runs out
# and tests stay clear of the high numbers that benchmarks use.
_free_databases = list(range(1, 16))


def _scratch_db() -> Iterator[int]:
    if not _free_databases:
        pytest.fail("a test holds more than 15 Redis databases at once")
    db = _free_databases.pop(0)
    client = redis.Redis(port=REDIS_PORT, db=db)
    client.flushdb()  # the test's own scratch database, never the service's
    client.close()
    try:
        yield db
    finally:
        bisect.insort(_free_databases, db)


@pytest.fixture
def redis_db(stack: None) -> Iterator[int]:
    """A Redis database of this test's own, emptied before use."""
    yield from _scratch_db()


@pytest.fixture
def second_redis_db(stack: None) -> Iterator[int]:
    """Another database of this test's own, for a second pipeline beside the first."""
    yield from _scratch_db()


@pytest.fixture
def kafka_settings(redis_db: int, tmp_path: Path) -> Settings:
    run = uuid.uuid4().hex[:10]
    return load_settings(
        backend="kafka",
        kafka_bootstrap_servers=KAFKA,
        kafka_topic=f"events-{run}",
        kafka_dead_letter_topic=f"dead-letters-{run}",
        kafka_group_id=f"processors-{run}",
        kafka_partitions=4,
        redis_url=f"redis://127.0.0.1:{REDIS_PORT}/{redis_db}",
        cassandra_port=CASSANDRA_PORT,
        cassandra_keyspace=f"test_{run}",
        sqlite_path=tmp_path / "unused.sqlite3",
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a subprocess the same settings."""
    names = (
        "backend",
        "kafka_bootstrap_servers",
        "kafka_topic",
        "kafka_dead_letter_topic",
        "kafka_group_id",
        "kafka_partitions",
        "redis_url",
        "cassandra_port",
        "cassandra_keyspace",
        "timezone",
    )
    env = {**os.environ, "GAMETIME_LOG_LEVEL": "INFO"}
    for name in names:
        env[f"GAMETIME_{name.upper()}"] = str(getattr(settings, name))
    return env


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]
