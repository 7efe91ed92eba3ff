"""The embedded backend: one SQLite file holds raw events, minutes, profiles and
rejected events.

Writes can take milliseconds, so they run on one writer thread (SQLite has a single
writer) and never on the event loop. Reads are point lookups of a few microseconds
on a local file that never wait for the writer (WAL mode), so they run inline on
their own connection: a hop to a thread costs more than the read, and under load
the hand-back of the GIL added tens of milliseconds to the p99 latency.

Minute state is one bitmap per (user, day, game) and per (user, day), merged by
bitwise OR inside an UPSERT, so a replay changes nothing. Every write sets the row's
expiry to now + retention; expired rows are invisible at once and deleted by
`purge_expired`, which the service runs periodically. No job ever empties a day.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import TypeVar

from gametime.domain.calendar import LocalCalendar
from gametime.domain.clock import Clock
from gametime.domain.events import Event, Rejection
from gametime.domain.minutes import MinuteMarks, from_bytes, to_bytes
from gametime.domain.profiles import Profile
from gametime.errors import BackendError
from gametime.paging import decode_cursor, encode_cursor
from gametime.ports import DayUsage, EventPage

logger = logging.getLogger(__name__)

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS raw_events (
    user_id     TEXT    NOT NULL,
    instant_us  INTEGER NOT NULL,
    game_id     TEXT    NOT NULL,
    role_id     TEXT    NOT NULL,  -- '' when the event had no role
    event_time  TEXT    NOT NULL,  -- the original text, kept losslessly
    received_us INTEGER NOT NULL,
    PRIMARY KEY (user_id, instant_us, game_id, role_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS game_minutes (
    user_id    TEXT    NOT NULL,
    day        TEXT    NOT NULL,
    game_id    TEXT    NOT NULL,
    bitmap     BLOB    NOT NULL,
    minutes    INTEGER NOT NULL,
    expires_us INTEGER NOT NULL,
    PRIMARY KEY (user_id, day, game_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS total_minutes (
    user_id    TEXT    NOT NULL,
    day        TEXT    NOT NULL,
    bitmap     BLOB    NOT NULL,
    minutes    INTEGER NOT NULL,
    expires_us INTEGER NOT NULL,
    PRIMARY KEY (user_id, day)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS profiles (
    user_id    TEXT PRIMARY KEY,
    birth_date TEXT,
    minor      INTEGER,
    updated_us INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS rejections (
    fingerprint BLOB PRIMARY KEY,  -- the same item rejected again adds no row
    received_us INTEGER NOT NULL,
    batch_index INTEGER NOT NULL,
    field       TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    source      TEXT    NOT NULL
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS game_minutes_expiry ON game_minutes (expires_us);
CREATE INDEX IF NOT EXISTS total_minutes_expiry ON total_minutes (expires_us);
"""

# An expired row that has not been purged yet must not leak old minutes into a
# fresh day, so a write over it replaces the bitmap instead of merging.
_MERGE_GAME = """
INSERT INTO game_minutes (user_id, day, game_id, bitmap, minutes, expires_us)
VALUES (?1, ?2, ?3, ?4, minute_count(?4), ?5)
ON CONFLICT (user_id, day, game_id) DO UPDATE SET
    bitmap = CASE WHEN expires_us <= ?6 THEN excluded.bitmap
             ELSE minute_union(bitmap, excluded.bitmap) END,
    minutes = CASE WHEN expires_us <= ?6 THEN excluded.minutes
              ELSE minute_count(minute_union(bitmap, excluded.bitmap)) END,
    expires_us = excluded.expires_us
"""
_MERGE_TOTAL = """
INSERT INTO total_minutes (user_id, day, bitmap, minutes, expires_us)
VALUES (?1, ?2, ?3, minute_count(?3), ?4)
ON CONFLICT (user_id, day) DO UPDATE SET
    bitmap = CASE WHEN expires_us <= ?5 THEN excluded.bitmap
             ELSE minute_union(bitmap, excluded.bitmap) END,
    minutes = CASE WHEN expires_us <= ?5 THEN excluded.minutes
              ELSE minute_count(minute_union(bitmap, excluded.bitmap)) END,
    expires_us = excluded.expires_us
"""


def _minute_union(left: bytes, right: bytes) -> bytes:
    return to_bytes(from_bytes(left) | from_bytes(right))


def _minute_count(bitmap: bytes) -> int:
    return from_bytes(bitmap).bit_count()


class SqliteStore:
    """Implements RawEventStore, RejectionStore, MinuteStore and ProfileStore."""

    def __init__(
        self,
        path: Path,
        calendar: LocalCalendar,
        clock: Clock,
        retention_s: int,
    ) -> None:
        self.path = path
        self.calendar = calendar
        self.clock = clock
        self.retention_us = retention_s * 1_000_000
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    # -- threads and connections -------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode keeps the database consistent after a crash; a power
        # loss may drop the last commits, which producers re-send (at-least-once).
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.create_function("minute_union", 2, _minute_union, deterministic=True)
        conn.create_function("minute_count", 1, _minute_count, deterministic=True)
        with self._lock:
            self._connections.append(conn)
        return conn

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, self._call, work)

    async def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return self._call(work)

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection()
        try:
            with conn:
                return work(conn)
        except sqlite3.Error as exc:
            raise BackendError(f"SQLite at {str(self.path)!r} failed: {exc}") from exc

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    # -- raw events ----------------------------------------------------------------

    async def store_events(self, events: Sequence[Event]) -> None:
        received_us = self.clock.now_us()
        rows = [
            (
                event.user_id,
                event.instant_us,
                event.game_id,
                event.role_id or "",
                event.event_time,
                received_us,
            )
            for event in events
        ]
        await self._write(
            lambda conn: conn.executemany(
                "INSERT OR IGNORE INTO raw_events VALUES (?, ?, ?, ?, ?, ?)", rows
            )
        )

    async def list_events(
        self, user_id: str, day: date, cursor: str | None, limit: int
    ) -> EventPage:
        span = self.calendar.span(day)
        after = decode_cursor(cursor) if cursor else (span.start_us - 1, "", "")

        def query(conn: sqlite3.Connection) -> list[tuple[str, int, str, str, str]]:
            return conn.execute(
                "SELECT game_id, instant_us, role_id, event_time, user_id"
                " FROM raw_events WHERE user_id = ? AND instant_us < ?"
                " AND (instant_us, game_id, role_id) > (?, ?, ?)"
                " ORDER BY instant_us, game_id, role_id LIMIT ?",
                (user_id, span.end_us, *after, limit + 1),
            ).fetchall()

        rows = await self._read(query)
        events = [
            Event(user_id, game_id, role_id or None, instant_us, event_time)
            for game_id, instant_us, role_id, event_time, _ in rows[:limit]
        ]
        next_cursor = None
        if len(rows) > limit:
            last = events[-1]
            next_cursor = encode_cursor(last.instant_us, last.game_id, last.role_id)
        return EventPage(events, next_cursor)

    async def events_of(self, user_id: str, day: date) -> list[Event]:
        span = self.calendar.span(day)
        rows = await self._read(
            lambda conn: conn.execute(
                "SELECT game_id, instant_us, role_id, event_time FROM raw_events"
                " WHERE user_id = ? AND instant_us >= ? AND instant_us < ?"
                " ORDER BY instant_us, game_id, role_id",
                (user_id, span.start_us, span.end_us),
            ).fetchall()
        )
        return [
            Event(user_id, game_id, role_id or None, instant_us, event_time)
            for game_id, instant_us, role_id, event_time in rows
        ]

    async def users_on(self, day: date) -> list[str]:
        # A scan of the raw events: the embedded backend rebuilds rarely and keeps
        # no second index that every ingest would have to maintain.
        span = self.calendar.span(day)
        rows = await self._read(
            lambda conn: conn.execute(
                "SELECT DISTINCT user_id FROM raw_events"
                " WHERE instant_us >= ? AND instant_us < ? ORDER BY user_id",
                (span.start_us, span.end_us),
            ).fetchall()
        )
        return [user_id for (user_id,) in rows]

    # -- rejections ----------------------------------------------------------------

    async def store_rejections(self, rejections: Sequence[Rejection]) -> None:
        rows = [
            (
                _fingerprint(r.source, r.field, r.reason),
                r.received_us,
                r.index,
                r.field,
                r.reason,
                r.source,
            )
            for r in rejections
        ]
        await self._write(
            lambda conn: conn.executemany(
                "INSERT OR IGNORE INTO rejections VALUES (?, ?, ?, ?, ?, ?)", rows
            )
        )

    async def list_rejections(self, limit: int = 100) -> list[tuple[str, str, str]]:
        """(field, reason, source) of the newest rejections."""
        return await self._read(
            lambda conn: conn.execute(
                "SELECT field, reason, source FROM rejections"
                " ORDER BY received_us DESC LIMIT ?",
                (limit,),
            ).fetchall()
        )

    # -- minutes -------------------------------------------------------------------

    async def mark_minutes(self, marks: MinuteMarks) -> None:
        now_us = self.clock.now_us()
        expires_us = now_us + self.retention_us
        game_rows = [
            (user_id, day.isoformat(), game_id, to_bytes(bits), expires_us, now_us)
            for (user_id, day, game_id), bits in marks.games.items()
        ]
        total_rows = [
            (user_id, day.isoformat(), to_bytes(bits), expires_us, now_us)
            for (user_id, day), bits in marks.totals.items()
        ]

        def merge(conn: sqlite3.Connection) -> None:
            conn.executemany(_MERGE_GAME, game_rows)
            conn.executemany(_MERGE_TOTAL, total_rows)

        await self._write(merge)

    async def replace_day(self, user_id: str, day: date, marks: MinuteMarks) -> None:
        key = (user_id, day.isoformat())

        def replace(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM game_minutes WHERE user_id = ? AND day = ?", key)
            conn.execute("DELETE FROM total_minutes WHERE user_id = ? AND day = ?", key)

        await self._write(replace)
        await self.mark_minutes(marks.of_user_day(user_id, day))

    async def read_day(self, user_id: str, day: date) -> DayUsage:
        now_us = self.clock.now_us()
        key = (user_id, day.isoformat(), now_us)

        def query(conn: sqlite3.Connection) -> DayUsage:
            total = conn.execute(
                "SELECT minutes FROM total_minutes"
                " WHERE user_id = ? AND day = ? AND expires_us > ?",
                key,
            ).fetchone()
            games = conn.execute(
                "SELECT game_id, minutes FROM game_minutes"
                " WHERE user_id = ? AND day = ? AND expires_us > ? ORDER BY game_id",
                key,
            ).fetchall()
            return DayUsage(total[0] if total else 0, dict(games))

        return await self._read(query)

    async def read_game(self, user_id: str, day: date, game_id: str) -> tuple[int, int]:
        now_us = self.clock.now_us()
        iso_day = day.isoformat()

        def query(conn: sqlite3.Connection) -> tuple[int, int]:
            game = conn.execute(
                "SELECT minutes FROM game_minutes WHERE user_id = ? AND day = ?"
                " AND game_id = ? AND expires_us > ?",
                (user_id, iso_day, game_id, now_us),
            ).fetchone()
            total = conn.execute(
                "SELECT minutes FROM total_minutes"
                " WHERE user_id = ? AND day = ? AND expires_us > ?",
                (user_id, iso_day, now_us),
            ).fetchone()
            return (game[0] if game else 0, total[0] if total else 0)

        return await self._read(query)

    async def purge_expired(self) -> int:
        """Delete expired minute rows; returns how many went."""
        now_us = self.clock.now_us()

        def purge(conn: sqlite3.Connection) -> int:
            games = conn.execute(
                "DELETE FROM game_minutes WHERE expires_us <= ?", (now_us,)
            ).rowcount
            totals = conn.execute(
                "DELETE FROM total_minutes WHERE expires_us <= ?", (now_us,)
            ).rowcount
            return games + totals

        purged = await self._write(purge)
        if purged:
            logger.info("purged expired minute rows=%d", purged)
        return purged

    # -- profiles ------------------------------------------------------------------

    async def get_profile(self, user_id: str) -> Profile | None:
        row = await self._read(
            lambda conn: conn.execute(
                "SELECT birth_date, minor FROM profiles WHERE user_id = ?", (user_id,)
            ).fetchone()
        )
        if row is None:
            return None
        birth_date, minor = row
        return Profile(
            user_id,
            date.fromisoformat(birth_date) if birth_date else None,
            None if minor is None else bool(minor),
        )

    async def put_profile(self, profile: Profile) -> None:
        row = (
            profile.user_id,
            profile.birth_date.isoformat() if profile.birth_date else None,
            None if profile.minor is None else int(profile.minor),
            self.clock.now_us(),
        )
        await self._write(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO profiles VALUES (?, ?, ?, ?)", row
            )
        )


def _fingerprint(source: str, field: str, reason: str) -> bytes:
    digest = hashlib.blake2b(digest_size=16)
    for part in (source, field, reason):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.digest()
