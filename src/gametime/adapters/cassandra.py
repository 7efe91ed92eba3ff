"""Raw events and profiles in Apache Cassandra.

Raw events are partitioned by (user, local day) and clustered by (instant, game,
role): a replayed event writes the same row, never a new one, and a user's day is
one partition read in time order. One row per event keeps every delivery's exact
`event_time` text and role; at about 2,000 events a user a day a partition holds
tens of kilobytes. `day_users` lists who has events on a day, in 64 buckets so no
partition grows with the user count; rebuilds walk it.

Writes are prepared statements in unlogged batches of one partition each, with a
bounded number in flight. Driver errors are translated here: an unreachable or
overloaded cluster is `BackendUnavailable` (retry later), anything else a
`BackendError`.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
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
from cassandra.policies import (
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.query import BatchStatement, BatchType, PreparedStatement

from gametime.domain.clock import Clock
from gametime.domain.events import Event
from gametime.domain.profiles import Profile
from gametime.errors import BackendError, BackendUnavailable
from gametime.paging import decode_cursor, encode_cursor
from gametime.ports import EventPage, StoredEvent

logger = logging.getLogger(__name__)

DAY_USER_BUCKETS = 64
STATE_MARK = "minute-state-mark"
BATCH_ROWS = 50  # stays under Cassandra's 5 KiB batch-size warning for small events
_RETRYABLE = (
    NoHostAvailable,
    OperationTimedOut,
    Unavailable,
    ReadTimeout,
    WriteTimeout,
)
_FAILURES = (DriverException, RequestExecutionException, RequestValidationException)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


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
        protocol_version=5,
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

    def __init__(self, options: CassandraOptions, clock: Clock) -> None:
        self.options = options
        self.clock = clock
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
        self._prepare()

    def _prepare(self) -> None:
        ttl_s = self.options.raw_event_ttl_s
        ttl = f" USING TTL {ttl_s}" if ttl_s else ""
        cql = _qualifier(self.options.keyspace)

        def prepare(statement: str) -> PreparedStatement:
            return self.session.prepare(cql(statement))

        self._insert_event = prepare(
            "INSERT INTO {ks}.raw_events (user_id, day, instant_us, game_id, role_id,"
            " event_time, received_us) VALUES (?, ?, ?, ?, ?, ?, ?)" + ttl
        )
        self._insert_day_user = prepare(
            "INSERT INTO {ks}.day_users (day, bucket, user_id) VALUES (?, ?, ?)" + ttl
        )
        self._page = prepare(
            "SELECT instant_us, game_id, role_id, event_time FROM {ks}.raw_events"
            " WHERE user_id = ? AND day = ?"
            " AND (instant_us, game_id, role_id) > (?, ?, ?) LIMIT ?"
        )
        self._day = prepare(
            "SELECT instant_us, game_id, role_id, event_time FROM {ks}.raw_events"
            " WHERE user_id = ? AND day = ?"
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

    async def store_events(self, events: Sequence[StoredEvent]) -> None:
        received_us = self.clock.now_us()
        partitions: defaultdict[tuple[str, date], list[Event]] = defaultdict(list)
        for stored in events:
            partitions[(stored.event.user_id, stored.day)].append(stored.event)

        batches = []
        for (user_id, day), partition in partitions.items():
            for start in range(0, len(partition), BATCH_ROWS):
                batch = BatchStatement(BatchType.UNLOGGED)
                for event in partition[start : start + BATCH_ROWS]:
                    batch.add(
                        self._insert_event,
                        (
                            user_id,
                            day,
                            event.instant_us,
                            event.game_id,
                            event.role_id or "",
                            event.event_time,
                            received_us,
                        ),
                    )
                batches.append(batch)
            batches.append(self._day_user_row(user_id, day))
        await asyncio.gather(*(self._execute(batch) for batch in batches))

    def _day_user_row(self, user_id: str, day: date) -> Any:
        return self._insert_day_user.bind((day, bucket_of(user_id), user_id))

    async def list_events(
        self, user_id: str, day: date, cursor: str | None, limit: int
    ) -> EventPage:
        after = decode_cursor(cursor) if cursor else (-(2**63), "", "")
        rows = await self._execute(self._page.bind((user_id, day, *after, limit + 1)))
        events = [_event(user_id, row) for row in rows]
        next_cursor = None
        if len(events) > limit:
            events = events[:limit]
            last = events[-1]
            next_cursor = encode_cursor(last.instant_us, last.game_id, last.role_id)
        return EventPage(events, next_cursor)

    async def events_of(self, user_id: str, day: date) -> list[Event]:
        statement = self._day.bind((user_id, day))
        statement.fetch_size = None  # one user-day is small: read it in one page
        return [_event(user_id, row) for row in await self._execute(statement)]

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


def bucket_of(user_id: str) -> int:
    return zlib.crc32(user_id.encode("utf-8", "surrogatepass")) % DAY_USER_BUCKETS


def _event(user_id: str, row: Any) -> Event:
    return Event(
        user_id, row.game_id, row.role_id or None, row.instant_us, row.event_time
    )


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
