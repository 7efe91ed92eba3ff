"""What a raw event costs Cassandra and the driver in each table layout considered.

Run with `make bench-cassandra` (the stack must be up: make stack-up). Writes the
same heartbeats (20,000 users, `--per-row` events of a user in each minute) in
four ways into a keyspace of its own, dropped at the end, and prints rows per
second and the CPU microseconds per event spent by this process (the driver) and
by the Cassandra server:

1. single: one row an event, one request each (the driver's execute_concurrent).
2. batched: one row an event, unlogged batches of 32 rows of many partitions.
3. grouped: one row an event, batches holding the `--per-row` rows of a user-minute.
4. minute-rows: one row a user-minute, a map of its events, 32 rows a batch (the
   layout gametime uses, written by CassandraStore.store_events).

Figures go to docs/architecture.md by hand; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

from cassandra.cluster import Session
from cassandra.concurrent import execute_concurrent, execute_concurrent_with_args
from cassandra.query import BatchStatement, BatchType

from gametime.adapters.cassandra import CassandraStore
from gametime.domain.clock import SystemClock
from gametime.domain.events import Event
from gametime.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
PID_FILE = ROOT / ".stack" / "cassandra" / "cassandra.pid"
DAY = date(2024, 7, 17)
START_US = 1_721_192_400 * 1_000_000  # 2024-07-17 12:00 +07:00
USERS = 20_000
BATCH = 32

Row = tuple[str, date, int, str, str, str, int]


def server_cpu_s() -> float:
    fields = (PID_FILE.read_text().strip(), "stat")
    stat = Path("/proc", *fields).read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system


def heartbeats(count: int, per_row: int, seed: int) -> list[Event]:
    """`per_row` events of each user in each minute, users taking turns."""
    events = []
    every_us = 60_000_000 // per_row
    for index in range(count):
        row, beat = divmod(index, per_row)
        minute, user = divmod(row, USERS)
        instant = START_US + minute * 60_000_000 + beat * every_us + seed
        text = f"2024-07-17T12:{minute % 60:02d}:{beat * every_us // 1_000_000:02d}"
        events.append(
            Event(f"user-{user}", f"game-{beat % 8}", "role-1", instant, text)
        )
    return events


def measure(name: str, events: int, write: Callable[[], None]) -> None:
    started, own, server = time.perf_counter(), own_cpu_s(), server_cpu_s()
    write()
    seconds = time.perf_counter() - started
    print(
        f"{name:12s} events={events} events_per_second={events / seconds:9,.0f} "
        f"driver_us_per_event={1e6 * (own_cpu_s() - own) / events:6.1f} "
        f"server_us_per_event={1e6 * (server_cpu_s() - server) / events:6.1f}",
        flush=True,
    )


def one_row_an_event(
    session: Session, keyspace: str
) -> tuple[Callable[[list[Row]], None], Callable[[list[Row]], None]]:
    """Writers of the one-row-an-event table: one request a row, and batched."""
    # Migration 1 made this table: gametime's layout before the minute rows.
    insert = session.prepare(
        f"INSERT INTO {keyspace}.raw_events (user_id, day, instant_us, game_id,"
        " role_id, event_time, received_us) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )

    def batched(rows: list[Row]) -> None:
        batches = []
        for start in range(0, len(rows), BATCH):
            batch = BatchStatement(BatchType.UNLOGGED)
            for row in rows[start : start + BATCH]:
                batch.add(insert, row)
            batches.append((batch, ()))
        execute_concurrent(session, batches, concurrency=32, raise_on_first_error=True)

    def single(rows: list[Row]) -> None:
        execute_concurrent_with_args(session, insert, rows, concurrency=128)

    return single, batched


def rows_of(events: list[Event]) -> list[Row]:
    return [
        (e.user_id, DAY, e.instant_us, e.game_id, e.role_id or "", e.event_time, 0)
        for e in events
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cassandra-port", type=int, default=19042)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--per-row", type=int, default=10)
    args = parser.parse_args()

    keyspace = f"bench_layout_{uuid.uuid4().hex[:8]}"
    settings = load_settings(
        cassandra_port=args.cassandra_port, cassandra_keyspace=keyspace
    )
    store = CassandraStore(
        settings.cassandra_options(), SystemClock(), settings.calendar()
    )
    session = store.session
    print(f"cassandra layout: keyspace={keyspace} per_row={args.per_row}")
    try:
        single, batched = one_row_an_event(session, keyspace)
        one_each = rows_of(heartbeats(args.events // 5, 1, seed=1))  # the slow one
        measure("single", len(one_each), lambda: single(one_each))
        spread = rows_of(heartbeats(args.events, 1, seed=2))
        measure("batched", len(spread), lambda: batched(spread))
        grouped = rows_of(heartbeats(args.events, args.per_row, seed=3))
        measure("grouped", len(grouped), lambda: batched(grouped))
        minutes = heartbeats(args.events, args.per_row, seed=4)
        measure(
            "minute-rows",
            len(minutes),
            lambda: asyncio.run(store.store_events(minutes)),
        )
    finally:
        session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}")
        asyncio.run(store.close())


if __name__ == "__main__":
    main()
