"""Benchmark of the Spark processor beside the native one, on the same data.

Run with `make bench-spark` (the stack must be up: make stack-up). Figures go to
docs/benchmarks.md, section "Spark processor", by hand; nothing here is a pass/fail
test. Each part can be run alone (`--only throughput` ...).

1. throughput: `gametime generate`'s synthetic day for `--users` players (one
   heartbeat a second while playing, duplicates, late events, sessions across
   midnight) is pre-loaded into a fresh topic, one JSON object per message keyed by
   user as the API publishes it. Then the native processor (one StreamProcessor in
   this process, as `gametime process` runs it) and the Spark query (local[2],
   availableNow, in this process) each count the whole topic into Redis and
   Cassandra: events per second. The native clock starts at its first batch; the
   Spark clock at the query's start, on a session warmed up by a small query first.
   The two Redis states must be byte for byte the same.
2. freshness: `gametime process`, then `gametime spark` (trigger interval 0 s), run
   as subprocesses on a quiet topic. One event at a time is published as the API
   publishes it (idempotent producer, acks=all), and the time from `publish`
   returning (when the API would answer 200) until Redis shows the new minute is
   measured: p50, p90 and the maximum over `--samples` events.

Both parts use Redis database `--redis-db` (14 by default: tests take theirs from
1 upwards, bench/pipeline.py takes 15 and the service 0), flushed before each run,
and topics and Cassandra keyspaces named after the run, removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import orjson
import redis
from cassandra.cluster import Cluster
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from gametime.adapters.kafka import KafkaPublisher
from gametime.adapters.redis import RedisStore
from gametime.backend import ensure_stream_topics, open_stream_processor
from gametime.domain.clock import SystemClock
from gametime.domain.events import EventParser
from gametime.generator import DaySpec, generate
from gametime.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
GAMETIME = str(Path(sys.executable).with_name("gametime"))
DAY = date(2024, 7, 17)
PARTS = ("throughput", "freshness")


def main() -> None:
    args = parse_args()
    run = uuid.uuid4().hex[:8]
    jars = fetch_jars()
    print(f"machine: {machine()}")
    base = load_settings(
        backend="kafka",
        kafka_bootstrap_servers=args.kafka,
        redis_url=f"redis://127.0.0.1:{args.redis_port}/{args.redis_db}",
        cassandra_port=args.cassandra_port,
        spark_jars_dir=jars,
        log_level="WARNING",
    )
    workdir = Path(tempfile.mkdtemp(prefix="gametime-bench-spark-"))
    try:
        for part in args.only or PARTS:
            globals()[f"bench_{part}"](base, run, workdir, args)
    finally:
        cleanup(base, run)
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=PARTS)
    parser.add_argument("--kafka", default="127.0.0.1:19092")
    parser.add_argument("--redis-port", type=int, default=16379)
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--cassandra-port", type=int, default=19042)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--samples", type=int, default=60)
    return parser.parse_args()


def fetch_jars() -> Path:
    fetched = subprocess.run(
        [str(ROOT / "deploy" / "stack" / "spark.sh"), "fetch"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(fetched.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    load = os.getloadavg()
    return f"{os.cpu_count()} cores ({cpu}), load average {load[0]:.2f} at start"


def named(base: Settings, run: str, part: str, engine: str, **more: object) -> Settings:
    """Settings of one part and engine: its own topic, keyspace and checkpoint."""
    return base.model_copy(
        update={
            "kafka_topic": f"bench-spark-{run}-{part}",
            "kafka_dead_letter_topic": f"bench-spark-{run}-{part}-dead-letters",
            "kafka_group_id": f"bench-spark-{run}-{part}-{engine}",
            "cassandra_keyspace": f"bench_spark_{run}_{part}_{engine}",
            **more,
        }
    )


def flush_redis(settings: Settings) -> redis.Redis:
    client = redis.Redis.from_url(settings.redis_url)
    client.flushdb()  # the benchmark's own database, never the service's
    return client


# --- 1. throughput ----------------------------------------------------------------


def bench_throughput(
    base: Settings, run: str, workdir: Path, args: argparse.Namespace
) -> None:
    native = named(base, run, "throughput", "native")
    sent = preload(native, day_of_play(args.users))
    print(f"throughput: pre-loaded messages={sent} users={args.users}")

    flush_redis(native).close()
    events, seconds = asyncio.run(count_natively(native, sent))
    native_digest = redis_digest(native)
    report("native", events, seconds, native_digest)

    sparked = named(
        base,
        run,
        "throughput",
        "spark",
        spark_checkpoint_dir=str(workdir / "throughput-checkpoint"),
    )
    events, seconds, batches = count_with_spark(sparked, run, workdir)
    spark_digest = redis_digest(sparked)
    report(f"spark ({batches} micro-batches)", events, seconds, spark_digest)
    print(f"throughput: same redis state={spark_digest == native_digest}")


def day_of_play(users: int) -> Iterator[tuple[bytes, bytes]]:
    spec = DaySpec(users=users, games=4, day=DAY, seed=1, zone=load_settings().zone)
    for chunk in generate(spec):
        for line in chunk.splitlines():
            value = line.encode()
            yield orjson.loads(value)["user_id"].encode(), value


def preload(settings: Settings, messages: Iterator[tuple[bytes, bytes]]) -> int:
    """Write the messages as the API's publisher does: keyed by user, lz4."""
    ensure_stream_topics(settings)
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 50,
            "batch.size": 1 << 20,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    count = 0
    for key, value in messages:
        while True:
            try:
                producer.produce(settings.kafka_topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
        count += 1
    if producer.flush(120):
        raise SystemExit("the producer could not deliver the stream in 120 s")
    return count


async def count_natively(settings: Settings, messages: int) -> tuple[int, float]:
    """Events counted per second by one processor, from its first batch on."""
    processor, closers = open_stream_processor(settings)
    try:
        while not await processor.step():
            pass  # joining the group and fetching the first batch is not timed
        before, started = processor.stats.events, time.perf_counter()
        while processor.stats.messages < messages:
            await processor.step()
        return processor.stats.events - before, time.perf_counter() - started
    finally:
        for close in reversed(closers):
            await close()


def count_with_spark(
    settings: Settings, run: str, workdir: Path
) -> tuple[int, float, int]:
    """Events counted per second by the availableNow query on a warm session.

    A small warm-up query first starts the JVM, its JIT and the Python workers,
    as the native processor's first batch is left out of its time.
    """
    from gametime.spark.job import run as run_query
    from gametime.spark.session import open_session

    warmup = named(
        settings,
        run,
        "warmup",
        "spark",
        spark_checkpoint_dir=str(workdir / "warmup-checkpoint"),
    )
    preload(warmup, day_of_play(3))
    session = open_session(settings)
    try:
        run_query(session, warmup, threading.Event(), available_now=True)
        flush_redis(settings).close()
        started = time.perf_counter()
        stats = run_query(session, settings, threading.Event(), available_now=True)
        return stats.events, time.perf_counter() - started, stats.batches
    finally:
        session.stop()


def redis_digest(settings: Settings) -> str:
    client = redis.Redis.from_url(settings.redis_url)
    digest = hashlib.sha256()
    for key in sorted(client.scan_iter(count=10_000)):
        digest.update(repr((key, sorted(client.hgetall(key).items()))).encode())
    client.close()
    return digest.hexdigest()[:16]


def report(engine: str, events: int, seconds: float, digest: str) -> None:
    print(
        f"throughput: {engine} events={events} seconds={seconds:.2f} "
        f"events_per_second={events / seconds:,.0f} redis_digest={digest}"
    )


# --- 2. freshness -----------------------------------------------------------------


def bench_freshness(
    base: Settings, run: str, workdir: Path, args: argparse.Namespace
) -> None:
    native = named(base, run, "freshness", "native")
    ensure_stream_topics(native)
    flush_redis(native).close()
    with running(native, ["process"]):
        samples = asyncio.run(measure_freshness(native, "native", args.samples))
    print_freshness("native (gametime process)", samples)

    sparked = named(
        base,
        run,
        "freshness",
        "spark",
        spark_checkpoint_dir=str(workdir / "freshness-checkpoint"),
        spark_trigger_seconds=0,
    )
    with running(sparked, ["spark"]):
        samples = asyncio.run(measure_freshness(sparked, "spark", args.samples))
    print_freshness("spark (gametime spark, trigger 0 s)", samples)


@contextmanager
def running(settings: Settings, command: list[str]) -> Iterator[None]:
    """A `gametime` subprocess with the settings, stopped with SIGTERM at exit."""
    env = {**os.environ, **settings_env(settings)}
    process = subprocess.Popen([GAMETIME, *command], env=env, stdout=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def settings_env(settings: Settings) -> dict[str, str]:
    env = {}
    for name, value in settings.model_dump(exclude_defaults=True).items():
        if value is not None:
            env[f"GAMETIME_{name.upper()}"] = str(value)
    return env


async def measure_freshness(
    settings: Settings, engine: str, samples: int
) -> list[float]:
    """Seconds from publish to a visible minute, one fresh user per sample."""
    probe = Probe(settings)
    try:
        await probe.time_one(f"warm-{engine}", limit_s=300)
        return [await probe.time_one(f"{engine}-{index}") for index in range(samples)]
    finally:
        await probe.close()


class Probe:
    """Publishes one event as the API does and waits for its minute in Redis."""

    def __init__(self, settings: Settings) -> None:
        self.publisher = KafkaPublisher(
            settings.kafka_config(),
            settings.kafka_topic,
            settings.kafka_dead_letter_topic,
        )
        self.store = RedisStore.from_url(settings.redis_url, settings.retention_seconds)
        self.parser = EventParser(settings.zone, SystemClock(), 300)
        self.calendar = settings.calendar()

    async def time_one(self, user: str, limit_s: float = 60) -> float:
        now_ms = time.time_ns() // 1_000_000
        event = self.parser.parse(
            {"user_id": user, "game_id": "g1", "event_time": now_ms}
        )
        day, _minute = self.calendar.locate(event.instant_us)
        await self.publisher.publish([event])
        published = time.perf_counter()
        while (await self.store.read_game(user, day, "g1"))[0] == 0:
            if time.perf_counter() - published > limit_s:
                raise SystemExit(f"{user}'s minute not visible after {limit_s} s")
            await asyncio.sleep(0.002)
        return time.perf_counter() - published

    async def close(self) -> None:
        await self.publisher.close()
        await self.store.close()


def print_freshness(engine: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    print(
        f"freshness: {engine} samples={len(samples)} "
        f"p50_ms={statistics.median(ordered) * 1000:.0f} p90_ms={p90 * 1000:.0f} "
        f"max_ms={ordered[-1] * 1000:.0f}"
    )


# --- clean-up ---------------------------------------------------------------------


def cleanup(base: Settings, run: str) -> None:
    admin = AdminClient({"bootstrap.servers": base.kafka_bootstrap_servers})
    doomed = [t for t in admin.list_topics(timeout=10).topics if run in t]
    if doomed:
        for future in admin.delete_topics(doomed).values():
            future.result(timeout=30)
    cluster = Cluster(["127.0.0.1"], port=base.cassandra_port)
    session = cluster.connect()
    for row in session.execute("SELECT keyspace_name FROM system_schema.keyspaces"):
        if row.keyspace_name.startswith(f"bench_spark_{run}_"):
            session.execute(f"DROP KEYSPACE {row.keyspace_name}")
    cluster.shutdown()
    flush_redis(base).close()


if __name__ == "__main__":
    main()
