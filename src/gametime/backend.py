"""Building the services from settings: the one place that picks adapters.

The API, the CLI and the processors receive a `Backend` and never ask which
systems stand behind it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gametime.adapters.sqlite import SqliteStore
from gametime.domain.clock import Clock, SystemClock
from gametime.domain.events import EventParser
from gametime.ports import ProfileStore, RawEventStore, RejectionStore
from gametime.services.ingest import IngestService
from gametime.services.playtime import PlaytimeService
from gametime.services.processing import EventProcessor, InlinePublisher
from gametime.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class Backend:
    settings: Settings
    clock: Clock
    ingest: IngestService
    playtime: PlaytimeService
    processor: EventProcessor
    profiles: ProfileStore
    raw_events: RawEventStore
    rejections: RejectionStore
    store: SqliteStore

    async def purge_expired(self) -> int:
        return await self.store.purge_expired()

    def close(self) -> None:
        self.store.close()


def open_backend(settings: Settings, clock: Clock | None = None) -> Backend:
    clock = clock or SystemClock()
    calendar = settings.calendar()
    store = SqliteStore(
        settings.sqlite_path, calendar, clock, settings.retention_seconds
    )
    processor = EventProcessor(store, store, calendar)
    parser = EventParser(settings.zone, clock, settings.max_future_skew_seconds)
    logger.info(
        "backend=embedded sqlite_path=%s timezone=%s",
        settings.sqlite_path,
        settings.timezone,
    )
    return Backend(
        settings=settings,
        clock=clock,
        ingest=IngestService(
            parser, InlinePublisher(processor), store, settings.max_batch_events
        ),
        playtime=PlaytimeService(
            store,
            store,
            calendar,
            clock,
            settings.limits(),
            settings.unknown_user_is_minor,
        ),
        processor=processor,
        profiles=store,
        raw_events=store,
        rejections=store,
        store=store,
    )
