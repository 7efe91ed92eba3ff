"""One partition of a micro-batch, applied on an executor.

The partition's rows go through the very StreamProcessor that `gametime process`
runs: the domain core decodes and validates each message, what cannot be counted
goes to the dead letters with its reason and exact bytes, and the rest is written
to Cassandra and Redis. The sinks are opened here, from the settings the driver
sent as a plain dict (executors share no objects with the driver), and closed when
the partition is done. A sink outage pauses the partition with backoff, as it
pauses the native processor; nothing is acknowledged here, because Spark commits
the micro-batch to its checkpoint only after every partition has returned.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

from pyspark import Accumulator, SparkContext

from gametime.backend import Closer, open_record_processor
from gametime.errors import BackendUnavailable
from gametime.ports import Record
from gametime.retry import Backoff
from gametime.services.stream import StreamProcessor, StreamStats
from gametime.settings import Settings, load_settings

logger = logging.getLogger(__name__)

Payload = dict[str, Any]


def settings_payload(settings: Settings) -> Payload:
    """The settings as a plain dict that pickles to the executors, secrets and all."""
    return settings.model_dump()


class PartitionSource:
    """An EventSource over the rows of one partition, `batch_size` rows a batch."""

    def __init__(self, rows: Iterable[Any], batch_size: int) -> None:
        self._rows = iter(rows)
        self.batch_size = batch_size

    async def next_batch(self) -> list[Record]:
        return [_record(row) for row in islice(self._rows, self.batch_size)]

    async def commit(self, holding: Mapping[int, int] | None = None) -> None:
        """Nothing to do: Spark's checkpoint acknowledges the whole micro-batch."""


def _record(row: Any) -> Record:
    value = row.value  # a bytearray; None for a tombstone, read as empty as natively
    origin = f"{row.topic}/{row.partition}/{row.offset}"
    return Record(
        bytes(value) if value is not None else b"", origin, row.partition, row.offset
    )


@dataclass(frozen=True)
class PartitionCounters:
    """What the partitions processed, summed on the driver by Spark accumulators."""

    messages: Accumulator[int]
    events: Accumulator[int]
    dead_letters: Accumulator[int]

    @classmethod
    def create(cls, context: SparkContext) -> PartitionCounters:
        return cls(*(context.accumulator(0) for _ in range(3)))

    def add(self, stats: StreamStats) -> None:
        self.messages.add(stats.messages)
        self.events.add(stats.events)
        self.dead_letters.add(stats.dead_letters)

    def totals(self) -> StreamStats:
        """The sums so far; read on the driver only."""
        return StreamStats(
            messages=self.messages.value,
            events=self.events.value,
            dead_letters=self.dead_letters.value,
        )


def apply_partition(
    payload: Payload, counters: PartitionCounters, rows: Iterable[Any]
) -> None:
    """The foreachPartition function: count one partition's messages."""
    remaining = iter(rows)
    first = next(remaining, None)
    if first is None:
        return  # an empty partition opens no connections
    settings = load_settings(**payload)
    source = PartitionSource(chain([first], remaining), settings.processor_batch_size)
    counters.add(asyncio.run(_drain(settings, source)))


async def _drain(settings: Settings, source: PartitionSource) -> StreamStats:
    processor, closers = await _open(settings, source)
    try:
        while await processor.step():
            pass
    finally:
        for close in reversed(closers):
            await close()
    return processor.stats


async def _open(
    settings: Settings, source: PartitionSource
) -> tuple[StreamProcessor, list[Closer]]:
    """The processor over `source`; waits out sinks that cannot be reached yet."""
    delays: Iterator[float] = Backoff(attempts=None).delays()
    while True:
        try:
            return open_record_processor(settings, source)
        except BackendUnavailable as exc:
            delay = next(delays)
            logger.warning("sinks unreachable, retrying in %.1fs: %s", delay, exc)
            await asyncio.sleep(delay)
