"""Raw events and profiles in Apache Cassandra.

Raw events are partitioned by (user, local day). Within a partition a row holds a
user's events of one minute: a map from (instant, game, role) to the original
`event_time` text. Writing an event adds its entry to the map, so a replay in any
batching writes the same entries, never a new row, and a user's day reads back in
time order. Cassandra's cost is mostly per statement and per partition, not per
entry: a statement adding the ten heartbeats of a minute costs about a third of
the same events as ten rows in one batch, and a twentieth of ten single-row
requests (docs/architecture.md has the figures), which is why callers that can
should hand over a minute's events together.

`day_users` lists who has events on a day, in 64 buckets, each a 64th of the day's
users; rebuilds walk it. A process remembers the pairs it has written for an hour
and does not send them again meanwhile.

Writes are prepared statements in unlogged batches, with a bounded number in
flight. A batch holds rows of one replica, so its coordinator is a replica of
every row and forwards them only to the other replicas. Driver errors are
translated here: an unreachable or overloaded cluster is `BackendUnavailable`
(retry later), anything else a `BackendError`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import struct
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cassandra import (
    DriverException,
    OperationTimedOut,
    ReadTimeout,
    RequestExecutionException,
    RequestValidationException,
    Unavailable,
    WriteTimeout,
)
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    ResponseFuture,
    Session,
)
from cassandra.concurrent import execute_concurrent_with_args
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.query import (
    BatchStatement,
    BatchType,
    BoundStatement,
    PreparedStatement,
)

from gametime.domain.calendar import LocalCalendar
from gametime.domain.clock import Clock
from gametime.domain.events import Event
from gametime.domain.profiles import Profile
from gametime.errors import BackendError, BackendUnavailable
from gametime.paging import decode_cursor, encode_cursor
from gametime.ports import EventPage

logger = logging.getLogger(__name__)

DAY_USER_BUCKETS = 64
STATE_MARK = "minute-state-mark"
US_PER_MINUTE = 60_000_000
# A batch stays well under Cassandra's default batch_size_fail_threshold (50 KiB);
# servers log a warning above batch_size_warn_threshold (5 KiB by default), which
# deploy/stack raises and docs/stack-cassandra.md explains.
BATCH_STATEMENTS = 32
BATCH_BYTES = 24 * 1024
ROW_BYTES = 16 * 1024  # a minute row's statement beyond this is split in two
REMEMBERED_DAY_USERS = 1_000_000
DAY_S = 86_400
COPY_PAGE_ROWS = 5_000  # rows of the earlier table read and written at a time
_RETRYABLE = (
    NoHostAvailable,
    OperationTimedOut,
    Unavailable,
    ReadTimeout,
    WriteTimeout,
)
_FAILURES = (DriverException, RequestExecutionException, RequestValidationException)
EntryKey = tuple[int, str, str]  # (instant_us, game_id, role_id or "") of an event
PROTOCOL_VERSION = 5
_INT32 = struct.Struct(">i")
_INT64 = struct.Struct(">q")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]
    # Moves data after the statements ran; given the session and the keyspace.
    then: Callable[[Session, str], None] | None = None


ADD_EVENTS = (
    "UPDATE {ks}.raw_event_minutes USING TTL ? SET events = events + ?"
    " WHERE user_id = ? AND day = ? AND epoch_minute = ?"
)


def _copy_raw_events(session: Session, keyspace: str) -> None:
    """Copy the rows of the one-row-an-event table into minute rows, TTLs kept.

    Stop the processes of the earlier version first: rows they write after the
    scan passed are not copied. The copy is idempotent, so processes starting
    together, or one restarted mid-copy, only write some entries twice. The old
    table is left in place; drop it once the copy is checked.
    """
    cql = _qualifier(keyspace)
    add = session.prepare(cql(ADD_EVENTS))
    scan = session.prepare(
        cql(
            "SELECT user_id, day, instant_us, game_id, role_id, event_time,"
            " TTL(event_time) AS ttl FROM {ks}.raw_events"
        )
    ).bind(())
    scan.fetch_size = COPY_PAGE_ROWS
    copied = 0
    paging_state = None
    # One page at a time, each written whole before the next is asked for: the
    # driver's own page fetching, mixed with concurrent writes, stalled here.
    while True:
        result = session.execute(scan, paging_state=paging_state)
        copies = [
            (
                row.ttl or 0,
                {(row.instant_us, row.game_id, row.role_id): row.event_time},
                row.user_id,
                row.day,
                row.instant_us // US_PER_MINUTE,
            )
            for row in result.current_rows
        ]
        execute_concurrent_with_args(session, add, copies, concurrency=64)
        copied += len(copies)
        paging_state = result.paging_state
        if paging_state is None:
            break
    logger.info("copied raw events into minute rows events=%d", copied)


MIGRATIONS = (
    Migration(
        1,
        "raw events by user and local day",
        (
            """CREATE TABLE IF NOT EXISTS {ks}.raw_events (
                user_id text,
                day date,
                instant_us bigint,
                game_id text,
                role_id text,
                event_time text,
                received_us bigint,
                PRIMARY KEY ((user_id, day), instant_us, game_id, role_id)
            )""",
        ),
    ),
    Migration(
        2,
        "users with events on a day, bucketed",
        (
            """CREATE TABLE IF NOT EXISTS {ks}.day_users (
                day date,
                bucket int,
                user_id text,
                PRIMARY KEY ((day, bucket), user_id)
            )""",
        ),
    ),
    Migration(
        3,
        "user profiles",
        (
            """CREATE TABLE IF NOT EXISTS {ks}.profiles (
                user_id text PRIMARY KEY,
                birth_date date,
                minor boolean
            )""",
        ),
    ),
    Migration(
        4,
        "named values of the service, such as the state mark",
        (
            """CREATE TABLE IF NOT EXISTS {ks}.meta (
                name text PRIMARY KEY,
                value text
            )""",
        ),
    ),
    Migration(
        5,
        "raw events grouped by minute, one row a user-minute",
        (
            # epoch_minute: UTC minutes since 1970. events: (instant_us, game_id,
            # role_id or '') -> the original event_time text.
            """CREATE TABLE IF NOT EXISTS {ks}.raw_event_minutes (
                user_id text,
                day date,
                epoch_minute bigint,
                events map<frozen<tuple<bigint, text, text>>, text>,
                PRIMARY KEY ((user_id, day), epoch_minute)
            )""",
        ),
        then=_copy_raw_events,
    ),
)


@dataclass(frozen=True)
class CassandraOptions:
    contact_points: tuple[str, ...]
    port: int
    keyspace: str
    replication: dict[str, Any]
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    raw_event_ttl_s: int = 0
    max_in_flight: int = 64
    request_timeout_s: float = 10.0
    ssl_ca_certs: Path | None = None


def connect(options: CassandraOptions) -> Cluster:
    auth = (
        PlainTextAuthProvider(options.username, options.password)
        if options.username
        else None
    )
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy()),
        request_timeout=options.request_timeout_s,
    )
    return Cluster(
        list(options.contact_points),
        port=options.port,
        auth_provider=auth,
        ssl_context=_tls(options.ssl_ca_certs),
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        protocol_version=PROTOCOL_VERSION,
        # The driver's default waits up to 10 minutes between reconnection
        # attempts; a paused processor should resume soon after an outage ends.
        reconnection_policy=ExponentialReconnectionPolicy(0.5, 10.0),
    )


def _tls(ca_certs: Path | None) -> ssl.SSLContext | None:
    if ca_certs is None:
        return None
    return ssl.create_default_context(cafile=str(ca_certs))


def migrate(session: Session, options: CassandraOptions) -> list[int]:
    """Create the keyspace and apply the migrations not yet applied; repeatable."""
    replication = ", ".join(f"'{k}': {v!r}" for k, v in options.replication.items())
    session.execute(
        f"CREATE KEYSPACE IF NOT EXISTS {options.keyspace} "
        f"WITH replication = {{{replication}}}"
    )
    cql = _qualifier(options.keyspace)
    session.execute(
        cql(
            "CREATE TABLE IF NOT EXISTS {ks}.schema_migrations ("
            "version int PRIMARY KEY, description text, applied_at timestamp)"
        )
    )
    applied = {
        row.version
        for row in session.execute(cql("SELECT version FROM {ks}.schema_migrations"))
    }
    newly = []
    for migration in MIGRATIONS:
        if migration.version in applied:
            continue
        for statement in migration.statements:
            session.execute(cql(statement))
        if migration.then is not None:
            migration.then(session, options.keyspace)
        session.execute(
            cql(
                "INSERT INTO {ks}.schema_migrations (version, description, applied_at)"
                " VALUES (%s, %s, toTimestamp(now()))"
            ),
            (migration.version, migration.description),
        )
        logger.info(
            "applied migration version=%d %s", migration.version, migration.description
        )
        newly.append(migration.version)
    return newly


def _qualifier(keyspace: str) -> Callable[[str], str]:
    """Fills `{ks}` in a statement: tables are always named with their keyspace."""

    def qualified(statement: str) -> str:
        return statement.replace("{ks}", keyspace)

    return qualified


class CassandraStore:
    """Implements RawEventStore, RawEventArchive and ProfileStore."""

    def __init__(
        self, options: CassandraOptions, clock: Clock, calendar: LocalCalendar
    ) -> None:
        self.options = options
        self.clock = clock
        self.calendar = calendar
        self.cluster = connect(options)
        try:
            self.session = self.cluster.connect()
            migrate(self.session, options)
        except _RETRYABLE as exc:
            self.cluster.shutdown()
            raise BackendUnavailable(
                f"Cassandra at {options.contact_points}:{options.port} is unreachable: "
                f"{exc}"
            ) from exc
        self._in_flight = asyncio.Semaphore(options.max_in_flight)
        self._day_users_written = RememberedPairs(REMEMBERED_DAY_USERS)
        self._prepare()

    def _prepare(self) -> None:
        ttl_s = self.options.raw_event_ttl_s
        # A day_users row is written once an hour at most (RememberedPairs): it
        # outlives by a day the raw events of its day, which renew their own TTL.
        day_user_ttl_s = ttl_s + DAY_S if ttl_s else 0
        day_user_ttl = f" USING TTL {day_user_ttl_s}" if ttl_s else ""
        cql = _qualifier(self.options.keyspace)

        def prepare(statement: str) -> PreparedStatement:
            return self.session.prepare(cql(statement))

        self._add_events = prepare(ADD_EVENTS)
        self._ttl_value = _INT32.pack(ttl_s)
        self._day_type = self._add_events.column_metadata[3].type
        self._insert_day_user = prepare(
            "INSERT INTO {ks}.day_users (day, bucket, user_id) VALUES (?, ?, ?)"
            + day_user_ttl
        )
        self._page = prepare(
            "SELECT events FROM {ks}.raw_event_minutes"
            " WHERE user_id = ? AND day = ? AND epoch_minute >= ? LIMIT ?"
        )
        self._day = prepare(
            "SELECT events FROM {ks}.raw_event_minutes WHERE user_id = ? AND day = ?"
        )
        self._day_users = prepare(
            "SELECT user_id FROM {ks}.day_users WHERE day = ? AND bucket = ?"
        )
        self._get_profile = prepare(
            "SELECT birth_date, minor FROM {ks}.profiles WHERE user_id = ?"
        )
        self._put_profile = prepare(
            "INSERT INTO {ks}.profiles (user_id, birth_date, minor) VALUES (?, ?, ?)"
        )
        self._get_meta = prepare("SELECT value FROM {ks}.meta WHERE name = ?")
        self._put_meta = prepare("INSERT INTO {ks}.meta (name, value) VALUES (?, ?)")
        self._claim_meta = prepare(
            "INSERT INTO {ks}.meta (name, value) VALUES (?, ?) IF NOT EXISTS"
        )

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.cluster.shutdown)

    # -- raw events ----------------------------------------------------------------

    async def store_events(self, events: Sequence[Event]) -> None:
        minutes: dict[tuple[str, int], dict[EntryKey, str]] = {}
        for event in events:
            row = (event.user_id, event.instant_us // US_PER_MINUTE)
            entries = minutes.get(row)
            if entries is None:
                entries = minutes[row] = {}
            entries[(event.instant_us, event.game_id, event.role_id or "")] = (
                event.event_time
            )
        rows = []
        day_users = []
        for (user_id, minute), entries in minutes.items():
            for day, day_entries in self._by_day(minute, entries):
                rows += self._add_row((user_id, day, minute), day_entries)
                day_users.append((day, user_id))
        day_users = self._day_users_written.unknown(day_users)
        rows += [
            (self._insert_day_user.bind((day, bucket_of(user_id), user_id)), 64)
            for day, user_id in day_users
        ]
        await asyncio.gather(*map(self._execute, self._batches(rows)))
        self._day_users_written.remember(day_users)

    def _by_day(
        self, minute: int, entries: dict[EntryKey, str]
    ) -> list[tuple[date, dict[EntryKey, str]]]:
        """The entries of a minute by local day: nearly always one day.

        A minute is split only where a zone's offset is not whole minutes (local
        mean time before standard time, say), so that local midnight falls in it.
        """
        locate = self.calendar.locate
        start_us = minute * US_PER_MINUTE
        day = locate(start_us)[0]
        if locate(start_us + US_PER_MINUTE - 1)[0] == day:
            return [(day, entries)]
        days: defaultdict[date, dict[EntryKey, str]] = defaultdict(dict)
        for key, event_time in entries.items():
            days[locate(key[0])[0]][key] = event_time
        return list(days.items())

    def _add_row(
        self, row: tuple[str, date, int], entries: dict[EntryKey, str]
    ) -> list[tuple[BoundStatement, int]]:
        """Statements adding `entries` to a minute row, each with about its size.

        Nearly always one statement. A minute with more than `ROW_BYTES` of
        events (a client sending thousands in one minute) is split, so that no
        statement comes near Cassandra's batch and mutation size limits.

        The values are serialized here rather than by `bind`: the driver encodes
        a map of tuples in pure Python, which took most of the processor's time
        for raw events. `encode_entries` is checked against the driver's own
        encoding in the tests.
        """
        user_id, day, minute = row
        encoded = encode_entries(entries)
        if len(encoded) > ROW_BYTES and len(entries) > 1:
            items = list(entries.items())
            half = len(items) // 2
            return [
                *self._add_row(row, dict(items[:half])),
                *self._add_row(row, dict(items[half:])),
            ]
        user = user_id.encode("utf-8")
        statement = BoundStatement(self._add_events)
        statement.values = [
            self._ttl_value,
            encoded,
            user,
            self._day_type.serialize(day, PROTOCOL_VERSION),
            _INT64.pack(minute),
        ]
        return [(statement, len(encoded) + len(user))]

    def _batches(self, rows: list[tuple[BoundStatement, int]]) -> list[Any]:
        """Unlogged batches of rows that share a replica, bounded in count and size.

        A batch sent to a replica of every row in it is applied there without any
        further hop; rows of other replicas would make its coordinator forward them.
        """
        batches = []
        for group in self._by_replica(rows):
            batch, size = BatchStatement(BatchType.UNLOGGED), 0
            for statement, statement_size in group:
                if len(batch) >= BATCH_STATEMENTS or (
                    len(batch) and size + statement_size > BATCH_BYTES
                ):
                    batches.append(batch)
                    batch, size = BatchStatement(BatchType.UNLOGGED), 0
                batch.add(statement)
                size += statement_size
            if len(batch):
                batches.append(batch)
        return batches

    def _by_replica(
        self, rows: list[tuple[BoundStatement, int]]
    ) -> list[list[tuple[BoundStatement, int]]]:
        metadata = self.cluster.metadata
        if len(metadata.all_hosts()) <= 1:
            return [rows]
        groups: defaultdict[object, list[tuple[BoundStatement, int]]] = defaultdict(
            list
        )
        keyspace = self.options.keyspace
        for row in rows:
            replicas = metadata.get_replicas(keyspace, row[0].routing_key)
            groups[replicas[0] if replicas else None].append(row)
        return list(groups.values())

    async def list_events(
        self, user_id: str, day: date, cursor: str | None, limit: int
    ) -> EventPage:
        after = decode_cursor(cursor) if cursor else None
        first_minute = after[0] // US_PER_MINUTE if after else -(2**63)
        # Every row holds at least one event: limit + 2 rows are enough for limit + 1
        # events after the cursor, even when the cursor's own row yields none.
        statement = self._page.bind((user_id, day, first_minute, limit + 2))
        statement.fetch_size = None
        events = []
        for row in await self._execute(statement):
            for key, event_time in (row.events or {}).items():
                if after is None or key > after:
                    events.append(_event(user_id, key, event_time))
        next_cursor = None
        if len(events) > limit:
            events = events[:limit]
            last = events[-1]
            next_cursor = encode_cursor(last.instant_us, last.game_id, last.role_id)
        return EventPage(events, next_cursor)

    async def events_of(self, user_id: str, day: date) -> list[Event]:
        statement = self._day.bind((user_id, day))
        statement.fetch_size = None  # one user-day is small: read it in one page
        return [
            _event(user_id, key, event_time)
            for row in await self._execute(statement)
            for key, event_time in (row.events or {}).items()
        ]

    async def users_on(self, day: date) -> list[str]:
        statements = [
            self._day_users.bind((day, bucket)) for bucket in range(DAY_USER_BUCKETS)
        ]
        for statement in statements:
            statement.fetch_size = None  # a bucket is read whole, in one page
        pages = await asyncio.gather(*map(self._execute, statements))
        return sorted(row.user_id for rows in pages for row in rows)

    # -- profiles ------------------------------------------------------------------

    async def get_profile(self, user_id: str) -> Profile | None:
        rows = await self._execute(self._get_profile.bind((user_id,)))
        if not rows:
            return None
        row = rows[0]
        birth_date = row.birth_date.date() if row.birth_date is not None else None
        return Profile(user_id, birth_date, row.minor)

    async def put_profile(self, profile: Profile) -> None:
        await self._execute(
            self._put_profile.bind((profile.user_id, profile.birth_date, profile.minor))
        )

    # -- the state mark ------------------------------------------------------------

    async def state_mark(self) -> str | None:
        rows = await self._execute(self._get_meta.bind((STATE_MARK,)))
        return rows[0].value if rows else None

    async def set_state_mark(self, mark: str) -> None:
        await self._execute(self._put_meta.bind((STATE_MARK, mark)))

    async def claim_state_mark(self, mark: str) -> str:
        """Set the mark unless one is set (a lightweight transaction); the winner."""
        row = (await self._execute(self._claim_meta.bind((STATE_MARK, mark))))[0]
        return mark if row[0] else str(row.value)

    # -- driver bridge -------------------------------------------------------------

    async def _execute(self, statement: Any) -> list[Any]:
        async with self._in_flight:
            try:
                return await _result(self.session.execute_async(statement))
            except _RETRYABLE as exc:
                raise BackendUnavailable(f"Cassandra is unavailable: {exc}") from exc
            except _FAILURES as exc:
                raise BackendError(f"Cassandra failed: {exc!r}") from exc


class RememberedPairs:
    """(day, user) rows a process has written, forgotten all at once when full or
    `max_age_s` after it started remembering.

    Forgetting only costs rewriting rows that exist, which changes nothing but
    their TTL: a row is rewritten at least every `max_age_s` while its user plays.
    """

    def __init__(
        self,
        capacity: int,
        max_age_s: float = 3_600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.max_age_s = max_age_s
        self.clock = clock
        self._pairs: set[tuple[date, str]] = set()
        self._since = clock()

    def unknown(self, pairs: Iterable[tuple[date, str]]) -> list[tuple[date, str]]:
        if self.clock() - self._since >= self.max_age_s:
            self._pairs.clear()
            self._since = self.clock()
        known = self._pairs
        return [pair for pair in dict.fromkeys(pairs) if pair not in known]

    def remember(self, pairs: list[tuple[date, str]]) -> None:
        if len(self._pairs) + len(pairs) > self.capacity:
            self._pairs.clear()
        self._pairs.update(pairs)


def bucket_of(user_id: str) -> int:
    return zlib.crc32(user_id.encode("utf-8", "surrogatepass")) % DAY_USER_BUCKETS


def _event(user_id: str, key: EntryKey, event_time: str) -> Event:
    instant_us, game_id, role_id = key
    return Event(user_id, game_id, role_id or None, instant_us, event_time)


def encode_entries(entries: dict[EntryKey, str]) -> bytes:
    """A map<frozen<tuple<bigint, text, text>>, text> in the CQL wire format.

    A count, then for each entry its key and value, each prefixed with its length;
    a tuple is its fields, each prefixed with its length. An entry is one `pack`
    of a format made for its lengths; a stream has few distinct lengths.
    """
    parts = [_INT32.pack(len(entries))]
    append = parts.append
    formats = _ENTRY_FORMATS
    for (instant_us, game_id, role_id), event_time in entries.items():
        game = game_id.encode()
        role = role_id.encode()
        text = event_time.encode()
        lengths = (len(game), len(role), len(text))
        entry = formats.get(lengths) or _entry_format(lengths)
        key_length = 20 + lengths[0] + lengths[1]  # 3 lengths and 8 bytes, then ids
        append(
            entry.pack(
                key_length,
                8,
                instant_us,
                lengths[0],
                game,
                lengths[1],
                role,
                lengths[2],
                text,
            )
        )
    return b"".join(parts)


_ENTRY_FORMATS: dict[tuple[int, int, int], struct.Struct] = {}


def _entry_format(lengths: tuple[int, int, int]) -> struct.Struct:
    if len(_ENTRY_FORMATS) >= 4_096:
        _ENTRY_FORMATS.clear()
    game, role, text = lengths
    entry = struct.Struct(f">iiqi{game}si{role}si{text}s")
    _ENTRY_FORMATS[lengths] = entry
    return entry


def _result(future: ResponseFuture) -> asyncio.Future[list[Any]]:
    """An asyncio future for a driver future; callbacks arrive on driver threads."""
    loop = asyncio.get_running_loop()
    result: asyncio.Future[list[Any]] = loop.create_future()

    def succeeded(rows: Any) -> None:
        loop.call_soon_threadsafe(_settle, result, list(rows or []), None)

    def failed(error: BaseException) -> None:
        loop.call_soon_threadsafe(_settle, result, None, error)

    future.add_callbacks(succeeded, failed)
    return result


def _settle(
    result: asyncio.Future[list[Any]],
    rows: list[Any] | None,
    error: BaseException | None,
) -> None:
    if result.done():
        return
    if error is not None:
        result.set_exception(error)
    else:
        result.set_result(rows or [])
