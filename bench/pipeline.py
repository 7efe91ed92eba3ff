"""Benchmarks of the distributed pipeline on the real local Kafka, Redis and Cassandra.

Run with `make bench-pipeline` (the stack must be up: make stack-up). Figures go
to docs/benchmarks.md by hand, with the machine they came from; nothing here is a
pass/fail test. Each part can be run alone (`--only throughput` ...), and each
prints the CPU seconds the stack's servers and the whole machine used meanwhile,
so that a figure says what else was running.

1. throughput: a live stream of `--users` players, each sending a heartbeat about
   every 6 s (10 events per active minute) with duplicates, late and out-of-order
   events and some for yesterday, is pre-loaded into a fresh topic, one JSON object
   per message keyed by user as the API publishes it; then one in-process
   StreamProcessor counts it into Redis: events per second. `--archive` keeps raw
   events in Cassandra too, as `gametime process` does, and times until they are
   all archived; `--processors N` runs N processors as subprocesses in one group;
   `--profile` runs cProfile.
2. freshness: `gametime serve` and `gametime process` on the kafka backend; time
   from a 200 answer to POST /v1/events until the allowance route shows the new
   minute: p50 and p99.
3. api: wrk calls the allowance route of `gametime serve` on the kafka backend at
   `--connections` connections: requests per second, p50 and p99.
4. memory: a day of realistic play for `--users` users is written through the
   RedisStore; Redis `used_memory` before and after, per user-day, for each
   `hash-max-listpack-value` in `--listpack-values` (set with CONFIG SET for the
   run and restored after: it changes the shared server meanwhile).

Everything runs in Redis database `--redis-db` (15 by default: tests take theirs
from 1 upwards and the service uses 0), which is flushed before each part, in
topics named `bench-<run>-...` and in keyspace `bench_<run>`, removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import heapq
import os
import pstats
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as wall_time
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import orjson
import redis
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from gametime.adapters.kafka import KafkaEventSource, KafkaPublisher, ensure_topics
from gametime.adapters.redis import RedisStore
from gametime.backend import Closer, open_stream_processor
from gametime.domain.clock import SystemClock
from gametime.domain.events import EventParser
from gametime.domain.minutes import MinuteMarks, minute_bit
from gametime.gc_tuning import PROCESSOR_THRESHOLD, relax_gc
from gametime.services.processing import EventProcessor
from gametime.services.stream import StreamProcessor
from gametime.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
GAMETIME = str(Path(sys.executable).with_name("gametime"))
ZONE_NAME = "Asia/Ho_Chi_Minh"
ZONE = ZoneInfo(ZONE_NAME)
DAY = date(2024, 7, 17)
GAMES = 8
HEARTBEAT_S = 6  # 10 events per active minute
PORT = 18_766
PARTS = ("throughput", "freshness", "api", "memory")


@dataclass(frozen=True)
class Stack:
    """Where the benchmark's Kafka topics and Redis database are."""

    kafka: str
    redis_port: int
    redis_db: int
    cassandra_port: int
    run: str

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/{self.redis_db}"

    def settings(self, part: str, **overrides: object) -> Settings:
        return load_settings(
            backend="kafka",
            timezone=ZONE_NAME,
            kafka_bootstrap_servers=self.kafka,
            kafka_topic=f"bench-{self.run}-{part}",
            kafka_dead_letter_topic=f"bench-{self.run}-{part}-dead-letters",
            kafka_group_id=f"bench-{self.run}-{part}",
            redis_url=self.redis_url,
            cassandra_port=self.cassandra_port,
            cassandra_keyspace=f"bench_{self.run}",
            **overrides,
        )

    def env(self, settings: Settings) -> dict[str, str]:
        """The environment giving a `gametime` subprocess the same settings."""
        env = {**os.environ, "GAMETIME_LOG_LEVEL": "WARNING"}
        for name in (
            "backend",
            "timezone",
            "kafka_bootstrap_servers",
            "kafka_topic",
            "kafka_dead_letter_topic",
            "kafka_group_id",
            "redis_url",
            "cassandra_port",
            "cassandra_keyspace",
            "processor_batch_size",
        ):
            env[f"GAMETIME_{name.upper()}"] = str(getattr(settings, name))
        return env

    def flush_redis(self) -> redis.Redis:
        client = redis.Redis(port=self.redis_port, db=self.redis_db)
        client.flushdb()  # the benchmark's own database, never the service's
        return client

    def topics(self) -> list[str]:
        return [
            f"bench-{self.run}-{part}{suffix}"
            for part in PARTS
            for suffix in ("", "-dead-letters")
        ]


def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        work(load_settings(), archive=sys.argv[2:] == ["--archive"])
        return
    args = parse_args()
    stack = Stack(
        kafka=args.kafka,
        redis_port=args.redis_port,
        redis_db=args.redis_db,
        cassandra_port=args.cassandra_port,
        run=uuid.uuid4().hex[:8],
    )
    benchmarks = {
        "throughput": bench_throughput,
        "freshness": bench_freshness,
        "api": bench_api,
        "memory": bench_memory,
    }
    print(f"machine: {machine()}")
    try:
        for part in args.only or PARTS:
            benchmarks[part](stack, args)
    finally:
        delete_topics(stack)
        drop_keyspace(stack)
        stack.flush_redis().close()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=PARTS)
    parser.add_argument("--kafka", default="127.0.0.1:19092")
    parser.add_argument("--redis-port", type=int, default=16379)
    parser.add_argument("--redis-db", type=int, default=15)
    parser.add_argument("--cassandra-port", type=int, default=19042)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument(
        "--stream-minutes",
        type=int,
        default=3,
        help="minutes of live play in the throughput stream (users x 10 events each)",
    )
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument(
        "--processors",
        type=int,
        default=1,
        help="more than 1: that many processor subprocesses in one group",
    )
    parser.add_argument("--profile", type=Path, help="cProfile the processor to here")
    parser.add_argument(
        "--archive",
        action="store_true",
        help="throughput with raw events archived to Cassandra, as deployed",
    )
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--api-users", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument(
        "--listpack-values", default="64,128,256", help="hash-max-listpack-value runs"
    )
    return parser.parse_args()


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()
    return f"{os.cpu_count()} cores ({cpu}), load average {load[0]:.2f} at start"


STACK_PID_FILES = {
    "kafka": "kafka/kafka.pid",
    "redis": "redis/redis.pid",
    "cassandra": "cassandra/cassandra.pid",
}


class CpuMeter:
    """CPU seconds used meanwhile by this process, the stack's servers and the
    whole machine, to say what else was running during a measurement."""

    def __init__(self, **pids: int) -> None:
        stack_dir = Path(os.environ.get("GAMETIME_STACK_DIR", ROOT / ".stack"))
        self.pids = pids or {"processor": os.getpid()}
        for name, pid_file in STACK_PID_FILES.items():
            path = stack_dir / pid_file
            if path.exists():
                self.pids[name] = int(path.read_text().strip())
        self.started = self._sample()

    def _sample(self) -> dict[str, float]:
        ticks = os.sysconf("SC_CLK_TCK")
        sample = {"wall": time.monotonic()}
        for name, pid in self.pids.items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            sample[name] = (int(fields[11]) + int(fields[12])) / ticks
        busy = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        idle = int(busy[3]) + int(busy[4])
        sample["machine"] = (sum(map(int, busy)) - idle) / ticks
        return sample

    def report(self) -> str:
        now = self._sample()
        used = {name: now[name] - self.started[name] for name in now}
        wall = used.pop("wall")
        others = max(
            0.0, used["machine"] - sum(v for k, v in used.items() if k != "machine")
        )
        parts = [f"{name}={seconds:.1f}" for name, seconds in used.items()]
        return (
            f"cpu_seconds over {wall:.1f} s of wall time: {' '.join(parts)} "
            f"everything_else={others:.1f} (of {2 * wall:.1f} on 2 cores)"
        )


def delete_topics(stack: Stack) -> None:
    admin = AdminClient({"bootstrap.servers": stack.kafka})
    existing = set(admin.list_topics(timeout=10).topics)
    doomed = [topic for topic in stack.topics() if topic in existing]
    if doomed:
        for future in admin.delete_topics(doomed).values():
            future.result(timeout=30)


def drop_keyspace(stack: Stack) -> None:
    """Drop the run's Cassandra keyspace, if a part created it."""
    from cassandra.cluster import Cluster, NoHostAvailable

    cluster = Cluster(["127.0.0.1"], port=stack.cassandra_port)
    try:
        session = cluster.connect()
        session.execute(f"DROP KEYSPACE IF EXISTS bench_{stack.run}", timeout=60)
    except NoHostAvailable as exc:
        print(f"could not drop keyspace bench_{stack.run}: {exc}", file=sys.stderr)
    finally:
        cluster.shutdown()


# --- 1. processor throughput -------------------------------------------------


@dataclass(frozen=True)
class StreamShape:
    users: int
    minutes: int
    seed: int = 1
    duplicate_rate: float = 0.01
    late_rate: float = 0.01
    yesterday_rate: float = 0.002
    switch_rate: float = 0.05
    utc_form_rate: float = 0.2


class LiveStream:
    """An evening's live heartbeats: every user plays through the window.

    Within each 6-second tick every user sends one heartbeat at a random second of
    the tick, in a new random user order each minute. Some are sent twice, some
    arrive up to 3 minutes late, some are late uploads from yesterday, some users
    switch games, and a fifth of the users' clients send UTC times with
    milliseconds instead of local times with an offset.
    """

    def __init__(self, shape: StreamShape) -> None:
        self.shape = shape
        self.rng = random.Random(shape.seed)
        start = datetime.combine(DAY, wall_time(20, 0), ZONE)
        self.start_s = int(start.timestamp())
        self.users = [f"user-{index:06d}" for index in range(shape.users)]
        self._texts: dict[tuple[int, bool], str] = {}

    def messages(self) -> Iterator[tuple[bytes, bytes]]:
        """(key, value) pairs in the order the producers would send them."""
        shape, rng = self.shape, self.rng
        games = [self._games() for _ in self.users]
        utc = [rng.random() < shape.utc_form_rate for _ in self.users]
        late: list[tuple[int, int, bytes, bytes]] = []
        order = list(range(len(self.users)))
        for tick in range(shape.minutes * 60 // HEARTBEAT_S):
            if tick % (60 // HEARTBEAT_S) == 0:
                rng.shuffle(order)
            while late and late[0][0] <= tick:
                _, _, key, value = heapq.heappop(late)
                yield key, value
            for index in order:
                first, second, switch_tick = games[index]
                game = first if tick < switch_tick else second
                at_s = self.start_s + tick * HEARTBEAT_S + rng.randrange(HEARTBEAT_S)
                roll = rng.random()
                if roll < shape.yesterday_rate:
                    at_s -= 86_400
                key, value = self._message(index, game, at_s, utc[index])
                yield key, value
                if roll > 1 - shape.duplicate_rate:
                    yield key, value
                elif roll > 1 - shape.duplicate_rate - shape.late_rate:
                    release = tick + rng.randint(1, 30)
                    heapq.heappush(late, (release, len(late) + tick, key, value))
        for _, _, key, value in sorted(late):
            yield key, value

    def _games(self) -> tuple[int, int, int]:
        rng = self.rng
        first = rng.randrange(GAMES)
        if rng.random() < self.shape.switch_rate:
            ticks = self.shape.minutes * 60 // HEARTBEAT_S
            return first, rng.randrange(GAMES), rng.randrange(ticks)
        return first, first, 1 << 30

    def _message(
        self, index: int, game: int, at_s: int, utc: bool
    ) -> tuple[bytes, bytes]:
        user = self.users[index]
        if utc:
            text = f"{self._text(at_s, True)}.{self.rng.randrange(1000):03d}Z"
        else:
            text = self._text(at_s, False)
        value = (
            f'{{"user_id":"{user}","role_id":"{user}.r1",'
            f'"game_id":"game-{game}","event_time":"{text}"}}'
        )
        return user.encode(), value.encode()

    def _text(self, at_s: int, utc: bool) -> str:
        # Formatting a datetime per event would dominate generation; a second's
        # text is shared by every heartbeat sent in it.
        cached = self._texts.get((at_s, utc))
        if cached is None:
            zone = UTC if utc else ZONE
            cached = datetime.fromtimestamp(at_s, zone).isoformat()
            if utc:
                cached = cached.removesuffix("+00:00")
            self._texts[(at_s, utc)] = cached
        return cached


def bench_throughput(stack: Stack, args: argparse.Namespace) -> None:
    settings = stack.settings("throughput", processor_batch_size=args.batch_size)
    stack.flush_redis().close()
    shape = StreamShape(users=args.users, minutes=args.stream_minutes)
    started = time.perf_counter()
    sent = preload(stack, settings, LiveStream(shape).messages())
    print(
        f"throughput: pre-loaded messages={sent} users={shape.users} "
        f"minutes={shape.minutes} seconds={time.perf_counter() - started:.1f}"
    )
    if args.processors > 1:
        count_with_group(stack, settings, sent, args.processors, args.archive)
        return
    events, seconds, cpu_seconds = asyncio.run(
        count_topic(settings, sent, args.profile, args.archive)
    )
    user_days = redis.Redis(port=stack.redis_port, db=stack.redis_db).dbsize()
    print(
        f"throughput: processor events={events} seconds={seconds:.2f} "
        f"events_per_second={events / seconds:,.0f} cpu_seconds={cpu_seconds:.2f} "
        f"events_per_cpu_second={events / cpu_seconds:,.0f} user_days={user_days} "
        f"batch_size={args.batch_size}"
    )


def count_with_group(
    stack: Stack, settings: Settings, messages: int, processors: int, archive: bool
) -> None:
    """Several processors in one group: events per second of them all, from the
    group's first commit until it has committed the whole topic. With `archive`
    they keep raw events in Cassandra, as `gametime process` does; their first
    commit waits for the first minute to be archived, so the time is taken from
    their start instead (joining the group and connecting included)."""
    command = [
        sys.executable,
        __file__,
        "--worker",
        *(["--archive"] if archive else []),
    ]
    launched = time.perf_counter()
    workers = [
        subprocess.Popen(command, env=stack.env(settings)) for _ in range(processors)
    ]
    inspector = Consumer(
        {"bootstrap.servers": stack.kafka, "group.id": settings.kafka_group_id}
    )
    partitions = [
        TopicPartition(settings.kafka_topic, p)
        for p in range(settings.kafka_partitions)
    ]

    def committed() -> int:
        offsets = inspector.committed(partitions, timeout=10)
        return sum(max(offset.offset, 0) for offset in offsets)

    try:
        meter = CpuMeter()
        first, started = 0, launched
        if not archive:
            while (first := committed()) == 0:
                time.sleep(0.05)
            meter = CpuMeter()
            started = time.perf_counter()
        while committed() < messages:
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        print(f"throughput: {meter.report()} (processor: this benchmark only)")
    finally:
        stop(workers)
        inspector.close()
    print(
        f"throughput: processors={processors} messages={messages - first} "
        f"seconds={seconds:.2f} messages_per_second={(messages - first) / seconds:,.0f}"
    )


def work(settings: Settings, archive: bool) -> None:
    """A worker of `count_with_group`: count until SIGTERM, as `gametime process`."""

    async def run() -> None:
        processor, closers = (
            open_stream_processor(settings)
            if archive
            else redis_only_processor(settings)
        )
        relax_gc(PROCESSOR_THRESHOLD)
        done = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)
        try:
            await processor.run(done)
        finally:
            for close in reversed(closers):
                await close()

    asyncio.run(run())


def preload(
    stack: Stack, settings: Settings, messages: Iterator[tuple[bytes, bytes]]
) -> int:
    """Write the messages as the API's publisher does: keyed by user, lz4."""
    ensure_topics(
        {"bootstrap.servers": stack.kafka},
        {settings.kafka_topic: settings.kafka_partitions},
    )
    producer = Producer(
        {
            "bootstrap.servers": stack.kafka,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 50,
            "batch.size": 1 << 20,
            "compression.type": "lz4",
            "queue.buffering.max.messages": 1_000_000,
        }
    )
    topic, count = settings.kafka_topic, 0
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, value, key)
                break
            except BufferError:
                producer.poll(0.05)
        count += 1
    if producer.flush(120):
        raise SystemExit("the producer could not deliver the stream in 120 s")
    return count


async def count_topic(
    settings: Settings, messages: int, profile_to: Path | None, archive: bool
) -> tuple[int, float, float]:
    """Events counted by one processor from its first batch on, in seconds of wall
    time and of this process's CPU time (its Kafka client threads included)."""
    processor, closers = (
        open_stream_processor(settings) if archive else redis_only_processor(settings)
    )
    relax_gc(PROCESSOR_THRESHOLD)  # as `gametime process` does
    profiler = cProfile.Profile() if profile_to else None
    try:
        while not await processor.step():
            pass  # joining the group and fetching the first batch is not timed
        events_before = processor.stats.events
        meter = CpuMeter()
        started, cpu_started = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        deadline = time.monotonic() + 600
        while processor.stats.messages < messages:
            if time.monotonic() > deadline:
                raise SystemExit(f"processed only {processor.stats} in 600 s")
            await processor.step()
        # End to end: the raw events the processor still holds are archived too.
        await processor.archive_held()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        print(f"throughput: {meter.report()}")
        if archive:
            peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"throughput: archived={processor.stats.archived} "
                f"processor_peak_rss_mib={peak_mib:.0f}"
            )
    finally:
        if profiler:
            profiler.disable()
        for close in reversed(closers):
            await close()
    if profiler and profile_to:
        profiler.dump_stats(profile_to)
        pstats.Stats(str(profile_to)).sort_stats("tottime").print_stats(25)
    return processor.stats.events - events_before, seconds, cpu_seconds


def redis_only_processor(settings: Settings) -> tuple[StreamProcessor, list[Closer]]:
    """The processor of `open_stream_processor` without the Cassandra raw store."""
    source = KafkaEventSource(
        settings.kafka_config(),
        settings.kafka_topic,
        settings.kafka_group_id,
        settings.processor_batch_size,
        settings.processor_poll_timeout_seconds,
    )
    store = RedisStore.from_url(settings.redis_url, settings.retention_seconds)
    dead_letters = KafkaPublisher(
        settings.kafka_config(), settings.kafka_topic, settings.kafka_dead_letter_topic
    )

    async def close_source() -> None:
        source.close()

    processor = StreamProcessor(
        source,
        EventParser(settings.zone, SystemClock(), settings.max_future_skew_seconds),
        EventProcessor(None, store, settings.calendar()),
        dead_letters,
        max_message_bytes=settings.max_message_bytes,
        max_events_per_message=settings.max_batch_events,
    )
    return processor, [store.close, dead_letters.close, close_source]


# --- serving: `gametime serve` and `gametime process` as subprocesses ------------

API_SECRET = "gt_bench_" + uuid.uuid4().hex


def service_env(stack: Stack, settings: Settings) -> dict[str, str]:
    """Settings for the service: one key with every scope, a limit never reached."""
    key = {
        "name": "bench",
        "sha256": hashlib.sha256(API_SECRET.encode()).hexdigest(),
        "scopes": ["ingest", "read", "admin"],
    }
    return {
        **stack.env(settings),
        "GAMETIME_API_KEYS": orjson.dumps([key]).decode(),
        "GAMETIME_RATE_LIMIT_PER_SECOND": "1000000000",
    }


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([GAMETIME, *command], env=env)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server at {base} did not become ready in 60 s")


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


# --- 2. freshness ----------------------------------------------------------------


def bench_freshness(stack: Stack, args: argparse.Namespace) -> None:
    settings = stack.settings("freshness")
    stack.flush_redis().close()
    env = service_env(stack, settings)
    base = f"http://127.0.0.1:{PORT}"
    processes = [start(["process"], env), start(["serve", "--port", str(PORT)], env)]
    try:
        wait_ready(base)
        headers = {"X-API-Key": API_SECRET}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            visible_after(client, f"warm-{stack.run}", limit_s=120)  # group joined
            ingest, visible = [], []
            for sample in range(args.samples):
                posted, seen = visible_after(client, f"fresh-{stack.run}-{sample}")
                ingest.append(posted)
                visible.append(seen)
    finally:
        stop(processes)
    print(
        f"freshness: samples={len(visible)} "
        f"visible_p50_ms={percentile(visible, 0.5) * 1000:.0f} "
        f"visible_p99_ms={percentile(visible, 0.99) * 1000:.0f} "
        f"visible_max_ms={max(visible) * 1000:.0f} "
        f"ingest_p50_ms={percentile(ingest, 0.5) * 1000:.1f} "
        f"ingest_p99_ms={percentile(ingest, 0.99) * 1000:.1f}"
    )


def visible_after(
    client: httpx.Client, user: str, limit_s: float = 30
) -> tuple[float, float]:
    """Post one event for `user` now; (seconds the POST took, seconds from its
    answer until the allowance route counts the minute)."""
    event = {
        "user_id": user,
        "game_id": "game-1",
        "event_time": int(time.time() * 1000),
    }
    sent = time.perf_counter()
    answer = client.post("/v1/events", content=orjson.dumps(event))
    answered = time.perf_counter()
    answer.raise_for_status()
    if answer.json()["accepted"] != 1:
        raise SystemExit(f"the service did not accept {event}: {answer.text}")
    route = f"/v1/users/{user}/games/game-1/allowance"
    while client.get(route).json()["game_minutes"] < 1:
        if time.perf_counter() - answered > limit_s:
            raise SystemExit(f"{user}'s minute was not visible after {limit_s} s")
        time.sleep(0.002)
    return answered - sent, time.perf_counter() - answered


# --- 3. API ----------------------------------------------------------------------

WRK_SCRIPT = """
wrk.headers["X-API-Key"] = "{SECRET}"
local users = {USERS}
request = function()
  local user = math.random(0, users - 1)
  local game = math.random(0, 2)
  return wrk.format("GET", string.format(
    "/v1/users/user-%06d/games/game-%d/allowance", user, game))
end
"""


def bench_api(stack: Stack, args: argparse.Namespace) -> None:
    settings = stack.settings("api")
    stack.flush_redis().close()
    asyncio.run(play_today(settings, args.api_users))
    env = service_env(stack, settings)
    base = f"http://127.0.0.1:{PORT}"
    server = start(
        ["serve", "--port", str(PORT)], {**env, "GAMETIME_LOG_LEVEL": "ERROR"}
    )
    workdir = Path(tempfile.mkdtemp(prefix="gametime-bench-"))
    try:
        wait_ready(base)
        script = workdir / "allowance.lua"
        script.write_text(
            WRK_SCRIPT.replace("{SECRET}", API_SECRET).replace(
                "{USERS}", str(args.api_users)
            )
        )
        run_wrk(args, base, script, seconds=3)  # warm-up
        meter = CpuMeter(server=server.pid)
        report = run_wrk(args, base, script, args.seconds)
        print(f"api: {meter.report()}")
        print(
            f"api: allowance users={args.api_users} connections={args.connections} "
            f"wrk_threads={args.wrk_threads} {summarize(report)}"
        )
    finally:
        stop([server])
        shutil.rmtree(workdir, ignore_errors=True)


async def play_today(settings: Settings, users: int) -> None:
    """Thirty minutes today for every user; a birth date for every second user."""
    from gametime.backend import open_backend
    from gametime.domain.profiles import Profile

    backend = open_backend(settings)
    calendar = settings.calendar()
    today = calendar.today(SystemClock().now_us())
    try:
        for first in range(0, users, 5_000):
            marks = MinuteMarks()
            for index in range(first, min(first + 5_000, users)):
                user = f"user-{index:06d}"
                minutes = 0
                for minute in range(600, 630):
                    minutes |= minute_bit(minute)
                marks.games[(user, today, f"game-{index % 3}")] = minutes
                marks.totals[(user, today)] = minutes
            await backend.minutes.mark_minutes(marks)
        born = date(2000, 1, 1)
        await asyncio.gather(
            *(
                backend.profiles.put_profile(Profile(f"user-{index:06d}", born, None))
                for index in range(0, users, 2)
            )
        )
    finally:
        await backend.close()


def run_wrk(args: argparse.Namespace, base: str, script: Path, seconds: int) -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    command = [
        wrk,
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(script),
        base,
    ]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


WRK_FIGURES = {
    "requests_per_second": r"Requests/sec:\s+([\d.]+)",
    "p50": r"50%\s+([\d.]+\w+)",
    "p99": r"99%\s+([\d.]+\w+)",
    "non_2xx": r"Non-2xx or 3xx responses: (\d+)",
}


def summarize(report: str) -> str:
    figures = []
    for name, pattern in WRK_FIGURES.items():
        match = re.search(pattern, report)
        figures.append(f"{name}={match.group(1) if match else 0}")
    return " ".join(figures)


# --- 4. Redis memory -------------------------------------------------------------


def bench_memory(stack: Stack, args: argparse.Namespace) -> None:
    settings = stack.settings("memory")
    client = stack.flush_redis()
    setting = "hash-max-listpack-value"
    original = client.config_get(setting)[setting]
    days = realistic_days(args.users, random.Random(7))
    try:
        for value in args.listpack_values.split(","):
            client.config_set(setting, value)
            client.flushdb()
            before = int(client.info("memory")["used_memory"])
            asyncio.run(write_days(settings, days))
            after = int(client.info("memory")["used_memory"])
            encodings = sample_encodings(client)
            print(
                f"memory: {setting}={value} user_days={len(days)} "
                f"bytes_per_user_day={(after - before) / len(days):.0f} "
                f"keys={client.dbsize()} encodings={encodings} "
                f"mean_minutes={statistics.mean(m.bit_count() for _, m in days):.0f}"
            )
    finally:
        client.config_set(setting, original)
        client.flushdb()
        client.close()


def realistic_days(users: int, rng: random.Random) -> list[tuple[str, int]]:
    """(user, day's minutes) for one day of play per user; see write_days for games.

    One to three sessions a day, 40 minutes long on average (5 min to 4 h), most in
    the evening, so a day's minutes often lie far apart: the packed form then keeps
    the bytes between the first and the last minute.
    """
    days = []
    for index in range(users):
        minutes = 0
        for _ in range(1 + (rng.random() < 0.4) + (rng.random() < 0.15)):
            length = min(240, max(5, int(rng.expovariate(1 / 40))))
            if rng.random() < 0.7:
                start = rng.randrange(17 * 60, 23 * 60)
            else:
                start = rng.randrange(7 * 60, 23 * 60)
            for minute in range(start, min(start + length, 1440)):
                minutes |= minute_bit(minute)
        days.append((f"user-{index:06d}", minutes))
    return days


async def write_days(settings: Settings, days: list[tuple[str, int]]) -> None:
    """Through the RedisStore, as the processor writes them: a user's favourite
    game gets the day's minutes, every fifth user also plays a second game."""
    store = RedisStore.from_url(settings.redis_url, settings.retention_seconds)
    try:
        for first in range(0, len(days), 5_000):
            marks = MinuteMarks()
            for index, (user, minutes) in enumerate(days[first : first + 5_000], first):
                favourite = minutes
                if index % 5 == 0:
                    # The second game takes the minutes after the day's first hour.
                    first_bits = minutes.bit_length() - 60
                    other = minutes & ((1 << max(first_bits, 0)) - 1)
                    favourite = minutes & ~other
                    if other:
                        marks.games[(user, DAY, f"game-{(index + 1) % GAMES}")] = other
                marks.games[(user, DAY, f"game-{index % GAMES}")] = favourite
                marks.totals[(user, DAY)] = minutes
            await store.mark_minutes(marks)
    finally:
        await store.close()


def sample_encodings(client: redis.Redis) -> dict[str, int]:
    found: dict[str, int] = {}
    for _ in range(500):
        key = client.randomkey()
        if key is None:
            break
        encoding = client.object("encoding", key)
        name = encoding.decode() if isinstance(encoding, bytes) else str(encoding)
        found[name] = found.get(name, 0) + 1
    return found


if __name__ == "__main__":
    main()
