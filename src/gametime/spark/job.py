"""The Spark Structured Streaming query: the events topic into Cassandra and Redis.

Each micro-batch is applied partition by partition on the executors
(`partition.apply_partition`), by the same domain core, StreamProcessor and
adapters as `gametime process`; nothing is collected to the driver. Nothing is
kept from one micro-batch to the next either: duplicates and replays are absorbed
by the sinks, whose writes are idempotent. The checkpoint records a micro-batch's
offsets before it runs and its commit after, so a query restarted after a crash
runs the uncommitted micro-batch again over the same offsets, which changes
nothing already written.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from functools import partial
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming.query import StreamingQuery

from gametime.backend import ensure_stream_topics, open_record_processor
from gametime.services.stream import StreamStats
from gametime.settings import Settings
from gametime.spark.partition import (
    PartitionCounters,
    PartitionSource,
    apply_partition,
    settings_payload,
)
from gametime.spark.source import read_events

logger = logging.getLogger(__name__)


def run(
    spark: SparkSession,
    settings: Settings,
    stop: threading.Event,
    available_now: bool = False,
) -> StreamStats:
    """Process until `stop` is set, or with `available_now` until the topic as it
    is at the start has been processed; returns what was processed.

    Raises pyspark's StreamingQueryException when the query fails.
    """
    prepare_sinks(settings)
    batches = MicroBatches(spark, settings)
    query = start_query(spark, settings, batches, available_now)
    logger.info(
        "spark query started id=%s topic=%s checkpoint=%s",
        query.id,
        settings.kafka_topic,
        checkpoint_location(settings),
    )
    try:
        _wait(query, stop)
    finally:
        if query.isActive:
            query.stop()
    return batches.totals()


def prepare_sinks(settings: Settings) -> None:
    """Create the topics and the Cassandra schema once, before the executors open
    the sinks side by side; a sink that cannot be reached fails here, at start."""
    ensure_stream_topics(settings)
    asyncio.run(_open_and_close(settings))


async def _open_and_close(settings: Settings) -> None:
    _processor, closers = open_record_processor(settings, PartitionSource((), 1))
    for close in reversed(closers):
        await close()


class MicroBatches:
    """The foreachBatch function: called on the driver, the work runs on executors."""

    def __init__(self, spark: SparkSession, settings: Settings) -> None:
        self.payload = settings_payload(settings)
        self.counters = PartitionCounters.create(spark.sparkContext)
        self.batches = 0

    def __call__(self, batch: DataFrame, batch_id: int) -> None:
        started, before = time.monotonic(), self.counters.totals()
        batch.foreachPartition(partial(apply_partition, self.payload, self.counters))
        self.batches += 1
        after = self.counters.totals()
        logger.info(
            "micro-batch id=%d messages=%d events=%d dead_letters=%d seconds=%.2f",
            batch_id,
            after.messages - before.messages,
            after.events - before.events,
            after.dead_letters - before.dead_letters,
            time.monotonic() - started,
        )

    def totals(self) -> StreamStats:
        totals = self.counters.totals()
        totals.batches = self.batches
        return totals


def start_query(
    spark: SparkSession,
    settings: Settings,
    batches: MicroBatches,
    available_now: bool,
) -> StreamingQuery:
    writer = (
        read_events(spark, settings)
        .writeStream.foreachBatch(batches)
        .option("checkpointLocation", checkpoint_location(settings))
    )
    if available_now:
        writer = writer.trigger(availableNow=True)
    else:
        interval_ms = round(settings.spark_trigger_seconds * 1000)
        writer = writer.trigger(processingTime=f"{interval_ms} milliseconds")
    return writer.start()


def checkpoint_location(settings: Settings) -> str:
    """An absolute path (Spark resolves relative ones elsewhere), or the URI given."""
    location = settings.spark_checkpoint_dir
    return location if "://" in location else str(Path(location).resolve())


def _wait(query: StreamingQuery, stop: threading.Event) -> None:
    while not query.awaitTermination(1):
        if stop.is_set():
            logger.info("stopping spark query id=%s", query.id)
            query.stop()
