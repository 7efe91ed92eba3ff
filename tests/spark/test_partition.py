"""One partition on an executor: its rows as records, its settings as a dict."""

from __future__ import annotations

import asyncio
import pickle
from unittest.mock import Mock

from pyspark.sql import Row

from gametime.settings import load_settings
from gametime.spark.partition import (
    PartitionSource,
    apply_partition,
    settings_payload,
)


def row(value: bytes | None, offset: int) -> Row:
    data = None if value is None else bytearray(value)
    return Row(value=data, topic="events", partition=3, offset=offset)


def test_rows_become_records_with_exact_bytes_and_origin_in_batches() -> None:
    rows = [row(b"\xff{", 7), row(None, 8), row(b"{}", 9)]
    source = PartitionSource(rows, batch_size=2)

    async def batches() -> list[list[tuple[bytes, str]]]:
        found = []
        while records := await source.next_batch():
            found.append([(record.value, record.origin) for record in records])
        return found

    assert asyncio.run(batches()) == [
        [(b"\xff{", "events/3/7"), (b"", "events/3/8")],
        [(b"{}", "events/3/9")],
    ]


def test_settings_reach_executors_whole_secrets_included() -> None:
    settings = load_settings(redis_password="s3cret", spark_master="local[3]")
    payload = pickle.loads(pickle.dumps(settings_payload(settings)))
    rebuilt = load_settings(**payload)
    assert rebuilt == settings
    assert rebuilt.redis_password is not None
    assert rebuilt.redis_password.get_secret_value() == "s3cret"


def test_an_empty_partition_opens_nothing_and_counts_nothing() -> None:
    counters = Mock()
    apply_partition({"redis_url": "redis://nowhere.invalid/0"}, counters, iter(()))
    counters.add.assert_not_called()
