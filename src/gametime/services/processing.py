"""Applying valid events to the sinks: raw events first, then minutes.

This is the one step every processor runs (the embedded service inline, the Kafka
processor per consumed batch, the Spark job per partition). Both writes are
idempotent, so a batch applied twice after a crash changes nothing; the caller
acknowledges its input (commits offsets) only after `process` returns.

The Kafka processor may instead `count` a batch at once and `archive` its events
later, a minute at a time (services/raw_event_buffer.py); it then acknowledges a
message only once both are done.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gametime.domain.calendar import LocalCalendar
from gametime.domain.events import Event
from gametime.domain.minutes import tally
from gametime.ports import MinuteStore, RawEventStore

logger = logging.getLogger(__name__)


class EventProcessor:
    def __init__(
        self,
        raw_events: RawEventStore | None,
        minutes: MinuteStore,
        calendar: LocalCalendar,
    ) -> None:
        self.raw_events = raw_events
        self.minutes = minutes
        self.calendar = calendar

    async def process(self, events: Sequence[Event]) -> None:
        if not events:
            return
        # The raw store is written first: once minutes are visible their events can
        # be listed and rebuilt from. (The buffered Kafka processor counts first
        # and archives later; services/raw_event_buffer.py says what that costs.)
        await self.archive(events)
        await self.count(events)

    async def archive(self, events: Sequence[Event]) -> None:
        if self.raw_events is not None and events:
            await self.raw_events.store_events(events)

    async def count(self, events: Sequence[Event]) -> None:
        marks = tally(events, self.calendar)
        await self.minutes.mark_minutes(marks)
        logger.debug("counted events=%d user_days=%d", len(events), len(marks.totals))


class InlinePublisher:
    """Publishes by processing at once: the embedded backend has no broker."""

    def __init__(self, processor: EventProcessor) -> None:
        self.processor = processor

    async def publish(self, events: Sequence[Event]) -> None:
        await self.processor.process(events)
