"""`gametime process`: count the events topic into Redis, as a consumer-group member.

Start as many as the topic has partitions; they share the partitions between them.
SIGTERM or Ctrl+C finishes the batch in hand, archives the raw events it holds,
commits and leaves the group; while Cassandra is unreachable that waits for it.
SIGKILL loses nothing either: whatever was not committed is replayed.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from gametime.backend import Closer, open_heartbeat, open_stream_processor
from gametime.cli.main import app, configure_logging, settings_or_exit
from gametime.gc_tuning import PROCESSOR_THRESHOLD, relax_gc
from gametime.services.stream import StreamProcessor
from gametime.settings import Settings

logger = logging.getLogger(__name__)


@app.command()
def process() -> None:
    """Count the Kafka topic into Redis and archive raw events in Cassandra.

    Each raw event is held until its minute closes (GAMETIME_RAW_EVENT_GRACE_SECONDS,
    GAMETIME_RAW_EVENT_BUFFER_EVENTS); configured by GAMETIME_* variables.
    """
    settings = settings_or_exit()
    configure_logging(settings)
    asyncio.run(_process(settings))


async def _start_heartbeat(
    settings: Settings,
    processor: StreamProcessor,
    stop: asyncio.Event,
    closers: list[Closer],
) -> asyncio.Task[None] | None:
    """Report the lag every second, so the API can tell when counts are stale."""
    if processor.lag is None:
        return None
    heartbeat, heartbeat_closers = open_heartbeat(settings, processor.lag)
    closers.extend(heartbeat_closers)
    return asyncio.create_task(heartbeat.run(stop))


async def _process(settings: Settings) -> None:
    processor, closers = open_stream_processor(settings)
    relax_gc(PROCESSOR_THRESHOLD)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    logger.info(
        "processing topic=%s group=%s", settings.kafka_topic, settings.kafka_group_id
    )
    beating = await _start_heartbeat(settings, processor, stop, closers)
    try:
        stats = await processor.run(stop)
    finally:
        stop.set()
        if beating is not None:
            await beating
        for close in reversed(closers):
            await close()
    logger.info(
        "stopped messages=%d events=%d dead_letters=%d archived=%d",
        stats.messages,
        stats.events,
        stats.dead_letters,
        stats.archived,
    )
