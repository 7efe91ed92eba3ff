"""Building the services from settings: the one place that picks adapters.

The API, the CLI and the processors receive a `Backend` (or a `StreamProcessor`)
and never ask which systems stand behind it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gametime.domain.clock import Clock, SystemClock
from gametime.domain.events import EventParser
from gametime.ports import (
    EventPublisher,
    EventSource,
    MinuteStore,
    ProfileStore,
    RawEventArchive,
    RawEventStore,
    RejectionStore,
)
from gametime.services.health import FreshnessRules, HealthService, ProcessorHeartbeat
from gametime.services.ingest import IngestService
from gametime.services.playtime import PlaytimeService
from gametime.services.processing import EventProcessor, InlinePublisher
from gametime.services.stream import StreamProcessor
from gametime.settings import Settings

if TYPE_CHECKING:
    from gametime.adapters.cassandra import CassandraStore
    from gametime.adapters.redis import RedisStore

logger = logging.getLogger(__name__)

Closer = Callable[[], Awaitable[None]]


@dataclass
class Backend:
    settings: Settings
    clock: Clock
    ingest: IngestService
    playtime: PlaytimeService
    processor: EventProcessor
    minutes: MinuteStore
    profiles: ProfileStore
    raw_events: RawEventStore
    archive: RawEventArchive
    rejections: RejectionStore
    health: HealthService
    closers: list[Closer] = field(default_factory=list)
    purge: Callable[[], Awaitable[int]] | None = None

    async def purge_expired(self) -> int:
        """Reclaim expired state where the store does not expire it by itself."""
        return await self.purge() if self.purge else 0

    async def close(self) -> None:
        for close in reversed(self.closers):
            await close()


def open_backend(settings: Settings, clock: Clock | None = None) -> Backend:
    clock = clock or SystemClock()
    logger.info("backend=%s timezone=%s", settings.backend, settings.timezone)
    if settings.backend == "kafka":
        return _distributed(settings, clock)
    return _embedded(settings, clock)


def open_stream_processor(
    settings: Settings, clock: Clock | None = None
) -> tuple[StreamProcessor, list[Closer]]:
    """A consumer-group member that counts the topic into Redis and archives raw
    events in Cassandra, holding each until its minute closes."""
    from gametime.adapters.kafka import KafkaEventSource

    ensure_stream_topics(settings)
    source = KafkaEventSource(
        settings.kafka_config(),
        settings.kafka_topic,
        settings.kafka_group_id,
        settings.processor_batch_size,
        settings.processor_poll_timeout_seconds,
        settings.processor_session_timeout_seconds,
    )

    async def close_source() -> None:
        source.close()

    try:
        processor, closers = open_record_processor(
            settings, source, clock, source.lag, buffered=True
        )
    except Exception:
        source.close()  # a sink that cannot be reached must not leave a consumer
        raise
    return processor, [*closers, close_source]


def open_record_processor(
    settings: Settings,
    source: EventSource,
    clock: Clock | None = None,
    lag: Callable[[], int] | None = None,
    buffered: bool = False,
) -> tuple[StreamProcessor, list[Closer]]:
    """A StreamProcessor over any source, with the distributed backend's sinks.

    The Spark job runs one on each partition of a micro-batch, unbuffered: a
    partition's run ends with its records. A long-running consumer is `buffered`:
    it holds raw events until their minute closes, as settings say. The topics
    must exist already (`ensure_stream_topics`).
    """
    from gametime.adapters.kafka import KafkaPublisher

    clock = clock or SystemClock()
    minutes, closers = _redis(settings)
    raw_events = _cassandra(settings, clock, closers)
    dead_letters = KafkaPublisher(
        settings.kafka_config(), settings.kafka_topic, settings.kafka_dead_letter_topic
    )
    processor = StreamProcessor(
        source,
        _parser(settings, clock),
        EventProcessor(raw_events, minutes, settings.calendar()),
        dead_letters,
        max_message_bytes=settings.max_message_bytes,
        max_events_per_message=settings.max_batch_events,
        lag=lag,
        buffer=settings.raw_event_buffer(clock) if buffered else None,
    )
    return processor, [*closers, dead_letters.close]


def open_heartbeat(
    settings: Settings, lag: Callable[[], int], clock: Clock | None = None
) -> tuple[ProcessorHeartbeat, list[Closer]]:
    """What a processor runs beside its loop to report its lag to the API."""
    redis, closers = _redis(settings)
    heartbeat = ProcessorHeartbeat(
        redis, settings.kafka_group_id, lag, clock or SystemClock()
    )
    return heartbeat, closers


def _parser(settings: Settings, clock: Clock) -> EventParser:
    return EventParser(settings.zone, clock, settings.max_future_skew_seconds)


def _services(
    settings: Settings,
    clock: Clock,
    publisher: EventPublisher,
    rejections: RejectionStore,
    minutes: MinuteStore,
    profiles: ProfileStore,
    health: HealthService,
) -> tuple[IngestService, PlaytimeService]:
    ingest = IngestService(
        _parser(settings, clock), publisher, rejections, settings.max_batch_events
    )
    playtime = PlaytimeService(
        minutes,
        profiles,
        settings.calendar(),
        clock,
        settings.limits(),
        settings.unknown_user_is_minor,
        health,
        settings.allow_minors_when_stale,
    )
    return ingest, playtime


def _embedded(settings: Settings, clock: Clock) -> Backend:
    from gametime.adapters.sqlite import SqliteStore

    store = SqliteStore(
        settings.sqlite_path, settings.calendar(), clock, settings.retention_seconds
    )
    processor = EventProcessor(store, store, settings.calendar())
    # Counting happens in the request itself: the embedded counts are never stale.
    health = HealthService(clock)
    ingest, playtime = _services(
        settings, clock, InlinePublisher(processor), store, store, store, health
    )

    async def close_store() -> None:
        store.close()

    return Backend(
        settings,
        clock,
        ingest,
        playtime,
        processor,
        minutes=store,
        profiles=store,
        raw_events=store,
        archive=store,
        rejections=store,
        health=health,
        closers=[close_store],
        purge=store.purge_expired,
    )


def _distributed(settings: Settings, clock: Clock) -> Backend:
    from gametime.adapters.kafka import KafkaPublisher

    ensure_stream_topics(settings)
    redis, closers = _redis(settings)
    cassandra = _cassandra(settings, clock, closers)
    publisher = KafkaPublisher(
        settings.kafka_config(), settings.kafka_topic, settings.kafka_dead_letter_topic
    )
    processor = EventProcessor(cassandra, redis, settings.calendar())
    health = HealthService(
        clock,
        FreshnessRules(
            settings.kafka_group_id,
            settings.stale_after_seconds,
            settings.stale_max_lag_messages,
        ),
        board=redis,
        minute_marker=redis,
        durable_marker=cassandra,
    )
    ingest, playtime = _services(
        settings, clock, publisher, publisher, redis, cassandra, health
    )
    return Backend(
        settings,
        clock,
        ingest,
        playtime,
        processor,
        minutes=redis,
        profiles=cassandra,
        raw_events=cassandra,
        archive=cassandra,
        rejections=publisher,
        health=health,
        closers=[*closers, publisher.close],
    )


def _redis(settings: Settings) -> tuple[RedisStore, list[Closer]]:
    from gametime.adapters.redis import RedisStore

    password = settings.redis_password
    ca_certs = settings.redis_ssl_ca_certs
    store = RedisStore.from_url(
        settings.redis_url,
        settings.retention_seconds,
        password=password.get_secret_value() if password else None,
        username=settings.redis_username,
        ssl_ca_certs=str(ca_certs) if ca_certs else None,
    )
    return store, [store.close]


def _cassandra(
    settings: Settings, clock: Clock, closers: list[Closer]
) -> CassandraStore:
    """The raw-event and profile store; its closer joins `closers`."""
    from gametime.adapters.cassandra import CassandraStore

    store = CassandraStore(settings.cassandra_options(), clock, settings.calendar())
    closers.append(store.close)
    return store


def ensure_stream_topics(settings: Settings) -> None:
    """Create the events and dead-letter topics when missing; existing ones stay."""
    from gametime.adapters.kafka import ensure_topics

    ensure_topics(
        settings.kafka_config(),
        {
            settings.kafka_topic: settings.kafka_partitions,
            settings.kafka_dead_letter_topic: 1,
        },
    )
