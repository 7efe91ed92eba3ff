"""The stream processor: consume a batch, count it, then acknowledge it.

One loop serves the Kafka processor (and any other EventSource): decode each
message with the domain core, send what cannot be counted to the dead letters with
its reason and exact bytes, apply the rest through the EventProcessor, and commit
only then. A sink outage pauses the loop with backoff and nothing committed; the
same batch is applied again when the sink is back, which the idempotent sinks make
harmless.

With a RawEventBuffer the loop counts each batch at once but archives its raw
events a minute at a time, as the buffer releases them; a message is committed
only once its events are archived too. An empty poll (the loop has caught up) and
stopping archive everything held.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson

from gametime.domain.batch import parse_items, split_body
from gametime.domain.events import Event, EventParser
from gametime.errors import BackendError, InvalidEvent, InvalidInput
from gametime.ports import DeadLetter, DeadLetterSink, EventSource, Record
from gametime.retry import Backoff
from gametime.services.processing import EventProcessor
from gametime.services.raw_event_buffer import Position, RawEventBuffer, Release

logger = logging.getLogger(__name__)

# A small batch still archives this many closed events, if held; archiving all
# that is held goes in writes of this many, so no one write blocks the loop long.
MIN_RELEASE = 10_000


@dataclass
class StreamStats:
    messages: int = 0  # decoded and counted (committed once archived as well)
    events: int = 0
    dead_letters: int = 0
    batches: int = 0
    archived: int = 0  # events written to the raw store


class StreamProcessor:
    def __init__(
        self,
        source: EventSource,
        parser: EventParser,
        processor: EventProcessor,
        dead_letters: DeadLetterSink,
        max_message_bytes: int,
        max_events_per_message: int,
        backoff: Backoff = Backoff(attempts=None),
        lag: Callable[[], int] | None = None,
        report_every_s: float = 10.0,
        buffer: RawEventBuffer | None = None,
    ) -> None:
        self.source = source
        self.parser = parser
        self.processor = processor
        self.dead_letters = dead_letters
        self.max_message_bytes = max_message_bytes
        self.max_events_per_message = max_events_per_message
        self.backoff = backoff
        self.lag = lag
        self.report_every_s = report_every_s
        self.buffer = buffer if processor.raw_events is not None else None
        self._archiving: asyncio.Task[None] | None = None
        self.stats = StreamStats()

    async def run(self, stop: asyncio.Event) -> StreamStats:
        """Process until `stop` is set; the batch in hand is finished, the raw
        events held are archived, and everything is committed."""
        reported_at, reported_events = time.monotonic(), 0
        try:
            while not stop.is_set():
                await self.step()
                if time.monotonic() - reported_at >= self.report_every_s:
                    self._report(time.monotonic() - reported_at, reported_events)
                    reported_at, reported_events = time.monotonic(), self.stats.events
        except BaseException:
            # Failing or cancelled: the write in flight is abandoned, uncommitted,
            # so it cannot outlive the sinks the caller closes next.
            if self._archiving is not None:
                self._archiving.cancel()
            raise
        await self.archive_held()
        await self._commit()
        return self.stats

    async def step(self) -> int:
        """Process one batch; returns how many messages it held."""
        records = await self.source.next_batch()
        if not records:
            # Caught up with the log: archive every raw event held, since the
            # stream is too quiet for grouping to matter. An idle poll also retries
            # a commit that failed (a rebalance): else an idle partition would stay
            # uncommitted until its next message.
            await self.archive_held()
            await self._commit()
            return 0
        events, positions, letters = self._decode(records)
        if self.buffer is None:
            await self._until_done(lambda: self._apply(events, letters))
            if self.processor.raw_events is not None:
                self.stats.archived += len(events)
        else:
            await self._until_done(lambda: self._count(events, letters))
            self.buffer.add(events, positions)
            await self._archive_closed(len(events))
        await self._commit()
        self.stats.messages += len(records)
        self.stats.events += len(events)
        self.stats.dead_letters += len(letters)
        self.stats.batches += 1
        return len(records)

    async def archive_held(self) -> None:
        """Archive every raw event the buffer holds (commit after it)."""
        await self._archived()
        buffer = self.buffer
        while buffer is not None:
            release = buffer.release(MIN_RELEASE, everything=True)
            if not release.slices:
                return
            await self._archive(buffer, release)

    async def _archive_closed(self, batch_events: int) -> None:
        """Start archiving minutes that have closed: at least as many events as
        came in, once the previous archive write is done.

        Releasing no fewer than arrive keeps the buffer from growing while the
        stream runs; releasing not many more keeps each step short, so counting
        stays fresh while a minute of many players is written. The write runs
        while the loop fetches and counts the next batch; only one is in flight,
        so an archive outage stops the loop at the next step, and the offsets of
        events on their way are held until the write is done.
        """
        await self._archived()
        buffer = self.buffer
        if buffer is not None:
            release = buffer.release(max(batch_events, MIN_RELEASE))
            if release.slices:
                self._archiving = asyncio.create_task(self._archive(buffer, release))

    async def _archived(self) -> None:
        """Wait for the archive write in flight, if any; its failure is raised."""
        archiving, self._archiving = self._archiving, None
        if archiving is not None:
            await archiving

    async def _archive(self, buffer: RawEventBuffer, release: Release) -> None:
        events = release.events
        try:
            await self._until_done(lambda: self.processor.archive(events))
        except BaseException:
            buffer.failed(release)
            raise
        buffer.done(release)
        self.stats.archived += len(events)

    async def _commit(self) -> None:
        holding = self.buffer.first_offsets() if self.buffer is not None else None
        await self.source.commit(holding)

    def _decode(
        self, records: list[Record]
    ) -> tuple[list[Event], list[Position], list[DeadLetter]]:
        now_us = self.parser.clock.now_us()
        parse = self.parser.parse
        limit = self.max_message_bytes
        events: list[Event] = []
        positions: list[Position] = []
        letters: list[DeadLetter] = []
        for record in records:
            # Most messages hold one JSON object, as the publisher writes them: they
            # are parsed here directly. Anything else (an array, JSON lines, too
            # large, not JSON) takes the general path, which decides the same way.
            value = record.value
            if len(value) <= limit:
                try:
                    item = orjson.loads(value)
                except orjson.JSONDecodeError:
                    item = None
                if type(item) is dict:
                    try:
                        events.append(parse(item, now_us))
                        positions.append((record.partition, record.offset))
                    except InvalidEvent as exc:
                        letters.append(
                            DeadLetter(value, exc.field, exc.message, record.origin)
                        )
                    continue
            before = len(events)
            self._decode_any(record, now_us, events, letters)
            positions += [(record.partition, record.offset)] * (len(events) - before)
        return events, positions, letters

    def _decode_any(
        self,
        record: Record,
        now_us: int,
        events: list[Event],
        letters: list[DeadLetter],
    ) -> None:
        try:
            items = self._items(record)
        except InvalidInput as exc:
            letters.append(
                DeadLetter(record.value, exc.field, exc.message, record.origin)
            )
            return
        batch = parse_items(items, self.parser, now_us)
        events += batch.events
        letters += [
            DeadLetter(record.value, r.field, r.reason, record.origin)
            for r in batch.rejections
        ]

    def _items(self, record: Record) -> list[object]:
        if len(record.value) > self.max_message_bytes:
            raise InvalidInput(
                "message",
                f"is {len(record.value)} bytes, at most {self.max_message_bytes} "
                "accepted",
            )
        return split_body(record.value, max_items=self.max_events_per_message)

    async def _apply(self, events: list[Event], letters: list[DeadLetter]) -> None:
        if letters:
            await self.dead_letters.send_dead_letters(letters)
        await self.processor.process(events)

    async def _count(self, events: list[Event], letters: list[DeadLetter]) -> None:
        if letters:
            await self.dead_letters.send_dead_letters(letters)
        if events:
            await self.processor.count(events)

    async def _until_done(self, attempt: Callable[[], Awaitable[None]]) -> None:
        delays = self.backoff.delays()
        while True:
            try:
                await attempt()
                return
            except BackendError as exc:
                delay = next(delays, None)
                if delay is None:
                    raise
                logger.warning(
                    "sink failed, retrying batch in %.1fs (nothing committed): %s",
                    delay,
                    exc,
                )
                await asyncio.sleep(delay)

    def _report(self, seconds: float, events_before: int) -> None:
        rate = (self.stats.events - events_before) / seconds
        lag = self.lag() if self.lag else -1
        logger.info(
            "processed events=%d events_per_second=%.0f dead_letters=%d lag=%d"
            " raw_events_held=%d",
            self.stats.events,
            rate,
            self.stats.dead_letters,
            lag,
            len(self.buffer) if self.buffer is not None else 0,
        )
