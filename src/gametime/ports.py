"""What the pipeline needs from the outside world, one small Protocol per need.

Each external system has one adapter module in `gametime.adapters` implementing
some of these. Every write is idempotent: writing the same events or minutes twice
leaves the same state, so at-least-once delivery gives exact counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from gametime.domain.events import Event, Rejection
from gametime.domain.minutes import MinuteMarks
from gametime.domain.profiles import Profile


@dataclass(frozen=True, slots=True)
class DayUsage:
    """Distinct minutes of one user-day: in total and per game."""

    total_minutes: int = 0
    games: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[Event]
    next_cursor: str | None


class EventPublisher(Protocol):
    """Hands valid events to the pipeline; returns once they are durable."""

    async def publish(self, events: Sequence[Event]) -> None: ...


class RawEventStore(Protocol):
    """Keeps every valid event as received, keyed so that a replay adds no row."""

    async def store_events(self, events: Sequence[Event]) -> None: ...

    async def list_events(
        self, user_id: str, day: date, cursor: str | None, limit: int
    ) -> EventPage: ...


class RawEventArchive(Protocol):
    """Reads whole days of raw events back, to rebuild minute state from them."""

    async def users_on(self, day: date) -> list[str]: ...

    async def events_of(self, user_id: str, day: date) -> list[Event]: ...


class RejectionStore(Protocol):
    """Keeps every rejected event with its reason and original text."""

    async def store_rejections(self, rejections: Sequence[Rejection]) -> None: ...


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message the processor could not count, with its exact bytes and origin."""

    raw: bytes
    field: str
    reason: str
    origin: str


class DeadLetterSink(Protocol):
    async def send_dead_letters(self, letters: Sequence[DeadLetter]) -> None: ...


@dataclass(frozen=True, slots=True)
class Record:
    """One consumed message: its bytes, and where it came from.

    `origin` names the place for people (dead letters); `partition` and `offset`
    let a processor acknowledge no further than what its sinks hold.
    """

    value: bytes
    origin: str
    partition: int = 0
    offset: int = 0


class EventSource(Protocol):
    """A partitioned log of event messages, consumed in batches by a group member.

    `commit` acknowledges everything `next_batch` returned so far, except, for a
    partition in `holding`, the messages from that offset on: their events are not
    in the sinks yet. It is called only after the sinks hold what it acknowledges,
    so a crash replays everything else.
    """

    async def next_batch(self) -> list[Record]: ...

    async def commit(self, holding: Mapping[int, int] | None = None) -> None: ...


class MinuteStore(Protocol):
    """Marks active minutes per user-day and answers how many there are."""

    async def mark_minutes(self, marks: MinuteMarks) -> None: ...

    async def read_day(self, user_id: str, day: date) -> DayUsage: ...

    async def read_game(self, user_id: str, day: date, game_id: str) -> tuple[int, int]:
        """(minutes in the game, minutes in total) for the user-day."""
        ...

    async def replace_day(self, user_id: str, day: date, marks: MinuteMarks) -> None:
        """Make the user-day's minutes exactly `marks` (its entries for that day)."""
        ...


class ProfileStore(Protocol):
    async def get_profile(self, user_id: str) -> Profile | None: ...

    async def put_profile(self, profile: Profile) -> None: ...


@dataclass(frozen=True, slots=True)
class ProcessorReport:
    """A processor's last word: how far behind its partitions it is, and when."""

    member: str
    lag: int
    at_us: int


class ProcessorBoard(Protocol):
    """Where processors say they are alive and how far behind they are."""

    async def report_processor(self, group: str, report: ProcessorReport) -> None: ...

    async def processor_reports(self, group: str) -> list[ProcessorReport]: ...


class StateMarker(Protocol):
    """A mark kept beside a store's state, to notice when the state was lost.

    The mark is written in the minute store and in the durable store together; a
    minute store that comes back without it lost its data.
    """

    async def state_mark(self) -> str | None: ...

    async def set_state_mark(self, mark: str) -> None: ...


class DurableStateMarker(StateMarker, Protocol):
    async def claim_state_mark(self, mark: str) -> str:
        """Set the mark unless one exists; returns the mark that holds."""
        ...
