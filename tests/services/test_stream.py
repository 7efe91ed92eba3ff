"""The stream loop with a raw-event buffer, over in-memory source and sinks.

The same loop on the real Kafka, Redis and Cassandra is in tests/stack; here the
order of counting, archiving and committing is checked step by step.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import date

import orjson
import pytest

from gametime.domain.clock import FixedClock
from gametime.domain.events import Event, EventParser
from gametime.domain.minutes import MinuteMarks
from gametime.errors import BackendUnavailable
from gametime.ports import DayUsage, DeadLetter, Record
from gametime.retry import Backoff
from gametime.services.processing import EventProcessor
from gametime.services.raw_event_buffer import RawEventBuffer
from gametime.services.stream import StreamProcessor
from gametime.settings import load_settings

pytestmark = pytest.mark.anyio

NOW_US = 1_721_199_600 * 1_000_000  # 2024-07-17 14:00 +07:00


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Source:
    def __init__(self) -> None:
        self.batches: list[list[Record]] = []
        self.offset = 0
        self.committed: list[Mapping[int, int]] = []

    def send(self, *times: str, user: str = "u") -> None:
        batch = []
        for text in times:
            item = {"user_id": user, "game_id": "g", "event_time": text}
            batch.append(Record(orjson.dumps(item), "t/0", 0, self.offset))
            self.offset += 1
        self.batches.append(batch)

    async def next_batch(self) -> list[Record]:
        return self.batches.pop(0) if self.batches else []

    async def commit(self, holding: Mapping[int, int] | None = None) -> None:
        # What a Kafka source would commit: the next offset, or what is held.
        self.committed.append({0: min(self.offset, (holding or {}).get(0, 1 << 62))})


class RawEvents:
    def __init__(self) -> None:
        self.stored: list[Event] = []
        self.failures = 0

    async def store_events(self, events: Sequence[Event]) -> None:
        if self.failures:
            self.failures -= 1
            raise BackendUnavailable("down")
        self.stored += events

    async def list_events(self, *args: object) -> object:
        raise NotImplementedError


class Minutes:
    def __init__(self) -> None:
        self.marked = 0

    async def mark_minutes(self, marks: MinuteMarks) -> None:
        self.marked += sum(bits.bit_count() for bits in marks.totals.values())

    async def read_day(self, user_id: str, day: date) -> DayUsage:
        raise NotImplementedError

    async def read_game(self, user_id: str, day: date, game_id: str) -> tuple[int, int]:
        raise NotImplementedError

    async def replace_day(self, user_id: str, day: date, marks: MinuteMarks) -> None:
        raise NotImplementedError


class Letters:
    async def send_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        raise AssertionError(f"no dead letters expected: {letters}")


def loop(
    source: Source, raw: RawEvents, minutes: Minutes, clock: FixedClock
) -> StreamProcessor:
    settings = load_settings()
    buffer = RawEventBuffer(
        clock, grace_us=10_000_000, max_hold_us=80_000_000, max_events=1_000
    )
    return StreamProcessor(
        source,
        EventParser(settings.zone, clock, settings.max_future_skew_seconds),
        EventProcessor(raw, minutes, settings.calendar()),
        Letters(),
        max_message_bytes=1 << 20,
        max_events_per_message=100,
        backoff=Backoff(initial_s=0, attempts=None),
        buffer=buffer,
    )


async def test_events_count_at_once_and_are_archived_when_their_minute_closes() -> None:
    source, raw, minutes, clock = Source(), RawEvents(), Minutes(), FixedClock(NOW_US)
    processor = loop(source, raw, minutes, clock)

    source.send("2024-07-17T12:00:05+07:00", "2024-07-17T12:00:50+07:00")
    await processor.step()
    assert minutes.marked == 1  # counted now
    assert raw.stored == []  # held: 12:00 has not closed
    assert source.committed[-1] == {0: 0}  # nothing acknowledged yet

    source.send("2024-07-17T12:01:30+07:00")
    await processor.step()  # 12:00 closed: its write runs beside the next step
    assert source.committed[-1] == {0: 0}

    source.send("2024-07-17T12:01:40+07:00")
    await processor.step()
    assert [s.event_time for s in raw.stored] == [
        "2024-07-17T12:00:05+07:00",
        "2024-07-17T12:00:50+07:00",
    ]
    assert source.committed[-1] == {0: 2}  # up to the first event still held

    assert await processor.step() == 0  # caught up: everything is archived
    assert len(raw.stored) == 4
    assert source.committed[-1] == {0: 4}


async def test_an_archive_outage_holds_the_loop_and_acknowledges_nothing() -> None:
    source, raw, minutes, clock = Source(), RawEvents(), Minutes(), FixedClock(NOW_US)
    processor = loop(source, raw, minutes, clock)
    source.send("2024-07-17T12:00:05+07:00", "2024-07-17T12:02:00+07:00")
    source.send("2024-07-17T12:03:00+07:00")
    raw.failures = 3

    await processor.step()  # the write of 12:00 fails and is retried meanwhile
    await processor.step()  # which this step waits for before going on

    assert [s.event_time for s in raw.stored] == ["2024-07-17T12:00:05+07:00"]
    assert source.committed == [{0: 0}, {0: 1}]


async def test_stopping_archives_and_acknowledges_everything_held() -> None:
    source, raw, minutes, clock = Source(), RawEvents(), Minutes(), FixedClock(NOW_US)
    processor = loop(source, raw, minutes, clock)
    source.send("2024-07-17T12:00:05+07:00")
    await processor.step()
    assert raw.stored == []

    stop = asyncio.Event()
    stop.set()
    await processor.run(stop)

    assert len(raw.stored) == 1
    assert source.committed[-1] == {0: 1}
    assert processor.stats.archived == 1


async def test_a_failing_loop_abandons_its_archive_write_uncommitted() -> None:
    class StuckRaw(RawEvents):
        cancelled = False

        async def store_events(self, events: Sequence[Event]) -> None:
            try:
                await asyncio.Event().wait()  # Cassandra never answers
            except asyncio.CancelledError:
                self.cancelled = True
                raise

    class FailingSource(Source):
        async def next_batch(self) -> list[Record]:
            await asyncio.sleep(0)  # as a real poll waits, the write starts
            if not self.batches:
                raise RuntimeError("the broker went away")
            return await super().next_batch()

    source, raw = FailingSource(), StuckRaw()
    processor = loop(source, raw, Minutes(), FixedClock(NOW_US))
    source.send("2024-07-17T12:00:05+07:00", "2024-07-17T12:02:00+07:00")

    with pytest.raises(RuntimeError, match="broker"):
        await processor.run(asyncio.Event())
    await asyncio.sleep(0)

    assert raw.cancelled
    assert source.committed == [{0: 0}]
