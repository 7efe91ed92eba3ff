"""Processors killed mid-stream lose nothing and count nothing twice.

`gametime process` runs as a real subprocess on the real Kafka, Redis and Cassandra.
The events are a few thousand users' play in several games, with duplicates, late
and out-of-order events and some for yesterday, in every accepted time form. The
expected minutes come from an oracle written here with zoneinfo alone; what Redis
holds is decoded here too, so nothing of the package's counting is trusted.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
import redis
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

from gametime.backend import open_backend
from gametime.settings import Settings
from tests.stack_services import KAFKA, REDIS_PORT, settings_env

pytestmark = [pytest.mark.stack, pytest.mark.slow]

GAMETIME = str(Path(sys.executable).with_name("gametime"))
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2024, 7, 17)
# The broker's smallest session timeout: a killed member's partitions move on soon.
SESSION_TIMEOUT_S = 6
BATCH_SIZE = 2_000
TOTAL_FIELD = ""

# (user, local day as ISO text) -> {game id, or "" for the total: minute indexes}
Minutes = dict[tuple[str, str], dict[str, frozenset[int]]]


# -- the events and their oracle ------------------------------------------------------


def event_time(instant: datetime, form: int) -> str | int:
    """The instant in one of the forms producers send."""
    if form == 0:
        return instant.astimezone(ZONE).isoformat()
    if form == 1:
        return instant.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"
    if form == 2:
        return int(instant.timestamp() * 1000)
    return instant.astimezone(ZONE).replace(tzinfo=None).isoformat(sep=" ")


def play(users: int, seed: int) -> list[dict[str, object]]:
    """Sessions of heartbeats every ~8 s, some twice, shuffled within windows."""
    rng = random.Random(seed)
    odd_ids = ["ü-ser", "id with space", "a:b{c}", "42"]
    names = [f"u{index:04d}" for index in range(users - len(odd_ids))] + odd_ids
    events: list[dict[str, object]] = []
    evening = datetime(2024, 7, 17, 19, 0, tzinfo=ZONE)
    for name in names:
        form = rng.randrange(4)
        for _session in range(rng.randint(1, 2)):
            # A tenth of the sessions start late yesterday, some crossing midnight.
            start = evening + timedelta(minutes=rng.randrange(-60, 240))
            if rng.random() < 0.1:
                start -= timedelta(hours=rng.choice([1, 24]))
            game = f"g{rng.randint(1, 5)}"
            for beat in range(rng.randint(3, 12) * 60 // 8):
                at = start + timedelta(seconds=beat * 8 + rng.random() * 3)
                event = {
                    "user_id": name,
                    "role_id": f"{name}.r{rng.randint(1, 2)}",
                    "game_id": game,
                    "event_time": event_time(at, form),
                }
                events.append(event)
                if rng.random() < 0.02:
                    events.append(dict(event))  # delivered twice
    # Out of order: each stretch of 500 events arrives shuffled.
    for start in range(0, len(events), 500):
        stretch = events[start : start + 500]
        rng.shuffle(stretch)
        events[start : start + 500] = stretch
    return events


def instant_of(value: str | int) -> datetime:
    if isinstance(value, int):
        return datetime.fromtimestamp(value // 1000, UTC)  # whole seconds suffice
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZONE)


def oracle(events: list[dict[str, object]]) -> Minutes:
    """Distinct local minutes per user-day, per game and in total."""
    found: defaultdict[tuple[str, str], defaultdict[str, set[int]]] = defaultdict(
        lambda: defaultdict(set)
    )
    for event in events:
        local = instant_of(event["event_time"]).astimezone(ZONE)  # type: ignore[arg-type]
        minute = local.hour * 60 + local.minute  # no DST here: wall minute = index
        fields = found[(str(event["user_id"]), local.date().isoformat())]
        fields[str(event["game_id"])].add(minute)
        fields[TOTAL_FIELD].add(minute)
    return {
        user_day: {field: frozenset(minutes) for field, minutes in fields.items()}
        for user_day, fields in found.items()
    }


# -- what Redis holds, decoded here ---------------------------------------------------

KEY = re.compile(r"gt:\{(?P<user>[^}]*)\}:(?P<day>\d{4}-\d{2}-\d{2})")


def minutes_of(packed: bytes) -> frozenset[int]:
    """Packed minutes: a 2-byte start byte offset, then bitmap bytes, MSB first."""
    start = int.from_bytes(packed[:2], "big")
    return frozenset(
        (start + index) * 8 + bit
        for index, byte in enumerate(packed[2:])
        for bit in range(8)
        if byte & (0x80 >> bit)
    )


def stored(client: redis.Redis) -> Minutes:
    keys = list(client.scan_iter(match="gt:*", count=1_000))
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    found: Minutes = {}
    for key, fields in zip(keys, pipe.execute(), strict=True):
        match = KEY.fullmatch(key.decode())
        if match is None:
            continue  # profiles
        found[(unquote(match["user"]), match["day"])] = {
            field.decode(): minutes_of(packed) for field, packed in fields.items()
        }
    return found


def difference(expected: Minutes, actual: Minutes, shown: int = 5) -> str:
    lines = []
    for user_day in sorted(set(expected) | set(actual)):
        want, got = expected.get(user_day, {}), actual.get(user_day, {})
        for field in sorted(set(want) | set(got)):
            missing = want.get(field, frozenset()) - got.get(field, frozenset())
            extra = got.get(field, frozenset()) - want.get(field, frozenset())
            if missing or extra:
                lines.append(
                    f"{user_day} field {field!r}: missing minutes {sorted(missing)}, "
                    f"unexpected minutes {sorted(extra)}"
                )
    head = "\n".join(lines[:shown])
    return f"{len(lines)} fields differ, first {min(shown, len(lines))}:\n{head}"


# -- the pipeline around the processors ----------------------------------------------


class Pipeline:
    """The test's topic, group and Redis database, and its processor subprocesses."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.settings = settings
        self.logs = logs
        self.env = {
            **settings_env(settings),
            "GAMETIME_PROCESSOR_BATCH_SIZE": str(BATCH_SIZE),
            "GAMETIME_PROCESSOR_SESSION_TIMEOUT_SECONDS": str(SESSION_TIMEOUT_S),
        }
        db = int(settings.redis_url.rsplit("/", 1)[1])
        self.redis = redis.Redis(port=REDIS_PORT, db=db)
        self.inspector = Consumer(
            {"bootstrap.servers": KAFKA, "group.id": settings.kafka_group_id}
        )
        self.started: list[subprocess.Popen[bytes]] = []

    def ingest(self, events: list[dict[str, object]]) -> None:
        """Publish through the service's own ingest path (keyed by user)."""

        async def publish() -> None:
            backend = open_backend(self.settings)
            try:
                for start in range(0, len(events), 10_000):
                    result = await backend.ingest.ingest_items(
                        events[start : start + 10_000]
                    )
                    assert not result.rejections, result.rejections[:3]
            finally:
                await backend.close()

        asyncio.run(publish())

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.logs / f"processor-{len(self.started)}.log").open("wb")
        process = subprocess.Popen(
            [GAMETIME, "process"], env=self.env, stdout=log, stderr=log
        )
        self.started.append(process)
        return process

    def log(self, process: subprocess.Popen[bytes]) -> str:
        index = self.started.index(process)
        return (self.logs / f"processor-{index}.log").read_text(errors="replace")

    def partitions(self) -> list[TopicPartition]:
        topic = self.settings.kafka_topic
        return [TopicPartition(topic, p) for p in range(self.settings.kafka_partitions)]

    def committed(self) -> int:
        """Messages the group has committed, over all partitions."""
        offsets = self.inspector.committed(self.partitions(), timeout=10)
        return sum(max(offset.offset, 0) for offset in offsets)

    def end(self) -> int:
        return sum(
            self.inspector.get_watermark_offsets(partition, timeout=10)[1]
            for partition in self.partitions()
        )

    def assignments(self) -> list[set[int]]:
        """The partitions each live member of the group holds."""
        admin = AdminClient({"bootstrap.servers": KAFKA})
        group = self.settings.kafka_group_id
        description = admin.describe_consumer_groups([group])[group].result(timeout=10)
        return [
            {tp.partition for tp in member.assignment.topic_partitions}
            for member in description.members
        ]

    def close(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
        self.inspector.close()
        self.redis.close()


@contextmanager
def pipeline(settings: Settings, logs: Path) -> Iterator[Pipeline]:
    opened = Pipeline(settings, logs)
    try:
        yield opened
    finally:
        opened.close()


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.1)


def wait_until_exact(line: Pipeline, expected: Minutes, timeout_s: float = 180) -> None:
    """Poll Redis until it equals the oracle and the group committed the topic.

    A batch is committed only after Redis holds it, so once the whole topic is
    committed Redis is final: a difference then fails at once.
    """
    deadline = time.monotonic() + timeout_s
    end = line.end()
    while True:
        committed = line.committed()
        actual = stored(line.redis)
        if actual == expected and committed == end:
            return
        if committed == end or time.monotonic() > deadline:
            pytest.fail(
                f"committed {committed} of {end} messages; Redis against the oracle: "
                + difference(expected, actual)
            )
        time.sleep(0.5)


def kill_after(line: Pipeline, process: subprocess.Popen[bytes], passed: int) -> int:
    """SIGKILL `process` once the group has committed `passed` messages, at a
    random moment after that; returns what was committed when it died."""
    wait_for(
        lambda: line.committed() >= passed or process.poll() is not None,
        f"{passed} committed messages",
        timeout_s=120,
    )
    assert process.poll() is None, f"the processor exited:\n{line.log(process)}"
    time.sleep(random.uniform(0, 0.5))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return line.committed()


# -- tests ----------------------------------------------------------------------------


def test_a_processor_killed_again_and_again_loses_and_doubles_nothing(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    events = play(users=1_000, seed=1)
    expected = oracle(events)
    kills = 20
    started = time.monotonic()
    with pipeline(kafka_settings, tmp_path) as line:
        line.ingest(events)
        total = line.end()
        assert total == len(events)
        died_at = []
        for kill in range(1, kills + 1):
            process = line.start()
            # Checkpoints reach half the topic: a kill lands at most half a second
            # after its checkpoint, so the rest of the topic is still ahead of it.
            died_at.append(kill_after(line, process, total * kill // (2 * kills)))
        # Every kill landed mid-stream, with work left for the next processor.
        assert all(0 < at < total for at in died_at), died_at
        survivor = line.start()
        last_kill = time.monotonic()
        wait_until_exact(line, expected)
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(timeout=60) == 0, line.log(survivor)
    print(
        f"reliability: sigkill-loop kills={kills} events={len(events)} "
        f"user_days={len(expected)} lost=0 duplicated=0 "
        f"exact_after_last_kill_s={time.monotonic() - last_kill:.1f} "
        f"total_s={time.monotonic() - started:.1f}"
    )


def test_a_killed_group_member_hands_its_partitions_to_the_survivor(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    events = play(users=600, seed=2)
    expected = oracle(events)
    with pipeline(kafka_settings, tmp_path) as line:
        line.ingest(events)
        doomed, survivor = line.start(), line.start()
        wait_for(
            lambda: sorted(map(len, line.assignments())) == [2, 2],
            "two members sharing the four partitions",
            timeout_s=60,
        )
        assert set().union(*line.assignments()) == {0, 1, 2, 3}
        kill_after(line, doomed, line.end() // 3)
        wait_for(
            lambda: line.assignments() == [{0, 1, 2, 3}],
            "the survivor to hold all four partitions",
            timeout_s=60,
        )
        wait_until_exact(line, expected)
        assert survivor.poll() is None, line.log(survivor)
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(timeout=60) == 0, line.log(survivor)


def test_sigterm_finishes_the_batch_commits_it_and_exits_cleanly(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    events = play(users=400, seed=3)
    expected = oracle(events)
    with pipeline(kafka_settings, tmp_path) as line:
        line.ingest(events)
        total = line.end()
        process = line.start()
        wait_for(lambda: line.committed() > 0, "a first commit", timeout_s=60)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, line.log(process)

        stopped = re.search(r"stopped messages=(\d+)", line.log(process))
        assert stopped, line.log(process)
        # Everything it took was counted and committed: nothing to replay.
        assert line.committed() == int(stopped[1]) < total
        counted = stored(line.redis)
        assert all(
            minutes <= expected[user_day][field]
            for user_day, fields in counted.items()
            for field, minutes in fields.items()
        )

        resumed = line.start()
        wait_until_exact(line, expected)
        resumed.send_signal(signal.SIGTERM)
        assert resumed.wait(timeout=60) == 0, line.log(resumed)
