"""Activity events and their validation.

An event says that a user was active in a game at an instant:
`{"user_id": ..., "game_id": ..., "event_time": ..., "role_id": ...}`.
`role_id` is optional and kept with the raw event, never used for counting.

Ids are non-empty strings of at most `MAX_ID_LENGTH` characters, any characters
allowed; a JSON integer is accepted as its decimal text because many producers send
numeric ids. Stores must key ids safely (quoted or encoded), never by pasting them
into a key unescaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from gametime.domain.clock import Clock
from gametime.domain.event_time import US_PER_SECOND, format_instant, parse_event_time
from gametime.errors import InvalidEvent

MAX_ID_LENGTH = 128

EventKey = tuple[str, str, str, int]


@dataclass(frozen=True, slots=True)
class Event:
    """A valid event: the instant it names and the original `event_time` text."""

    user_id: str
    game_id: str
    role_id: str | None
    instant_us: int
    event_time: str

    @property
    def key(self) -> EventKey:
        """What makes two deliveries the same event: a replay has the same key."""
        return (self.user_id, self.game_id, self.role_id or "", self.instant_us)


@dataclass(frozen=True, slots=True)
class Rejection:
    """An event that will not be counted, kept with its reason and original text."""

    index: int
    field: str
    reason: str
    source: str
    received_us: int


class EventParser:
    """Turns decoded JSON objects into Events, or says precisely why not.

    A stream's heartbeats share few `event_time` texts (every client sending in the
    same second writes the same one), so the instant of each text is remembered:
    parsing it is most of the cost of an event. The memory is bounded and forgets
    everything at once when full; it only ever holds texts that parsed.
    """

    INSTANT_MEMO_SIZE = 1 << 16

    def __init__(self, zone: ZoneInfo, clock: Clock, max_future_skew_s: int) -> None:
        self.zone = zone
        self.clock = clock
        self.max_future_skew_us = max_future_skew_s * US_PER_SECOND
        self._instants: dict[str, int] = {}

    def parse(self, item: object, now_us: int | None = None) -> Event:
        # `type(...) is dict` first: it is what JSON decoding gives, and much cheaper
        # than the isinstance check against the Mapping ABC.
        if type(item) is not dict and not isinstance(item, Mapping):
            raise InvalidEvent(
                "event", f"expected a JSON object, got {type(item).__name__}"
            )
        # Ids are checked inline when they are plain strings of an accepted length
        # (nearly always); anything else gets the full checks and their reasons.
        get = item.get
        user_id = get("user_id")
        if type(user_id) is not str or not 0 < len(user_id) <= MAX_ID_LENGTH:
            user_id = _required_id(item, "user_id")
        game_id = get("game_id")
        if type(game_id) is not str or not 0 < len(game_id) <= MAX_ID_LENGTH:
            game_id = _required_id(item, "game_id")
        role_id = get("role_id")
        if role_id == "":
            role_id = None
        elif role_id is not None and (
            type(role_id) is not str or len(role_id) > MAX_ID_LENGTH
        ):
            role_id = _id("role_id", role_id)

        raw_time = get("event_time", _MISSING)
        if raw_time is _MISSING:
            raise InvalidEvent("event_time", "is required")
        instant_us = self._instants.get(raw_time) if type(raw_time) is str else None
        if instant_us is None:
            instant_us = self._instant(raw_time)
        now = self.clock.now_us() if now_us is None else now_us
        if instant_us > now + self.max_future_skew_us:
            self._too_far_ahead(instant_us, now)
        event_time = raw_time if isinstance(raw_time, str) else str(raw_time)
        return Event(user_id, game_id, role_id, instant_us, event_time)

    def _instant(self, raw_time: object) -> int:
        """Parse a time not remembered yet, and remember it if it is a text."""
        instant_us = parse_event_time(raw_time, self.zone)
        if type(raw_time) is str:
            if len(self._instants) >= self.INSTANT_MEMO_SIZE:
                self._instants.clear()
            self._instants[raw_time] = instant_us
        return instant_us

    def _too_far_ahead(self, instant_us: int, now: int) -> None:
        raise InvalidEvent(
            "event_time",
            f"{format_instant(instant_us, self.zone)} is more than "
            f"{self.max_future_skew_us // US_PER_SECOND} s ahead of the service "
            f"clock ({format_instant(now, self.zone)})",
        )


_MISSING = object()


def _required_id(item: Mapping[str, object], field: str) -> str:
    value = item.get(field, _MISSING)
    if value is _MISSING:
        raise InvalidEvent(field, "is required")
    return _id(field, value)


def _id(field: str, value: object) -> str:
    if type(value) is str and 0 < len(value) <= MAX_ID_LENGTH:
        return value  # the common case, decided without the checks below
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # checked like any id: a huge integer is too long
    if not isinstance(value, str):
        raise InvalidEvent(
            field, f"expected a string or integer id, got {type(value).__name__}"
        )
    if not value:
        raise InvalidEvent(field, "must not be empty")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidEvent(
            field,
            f"is {len(value)} characters long, at most {MAX_ID_LENGTH} accepted "
            f"(starts {value[:32]!r})",
        )
    return value


def validate_id(field: str, value: str) -> str:
    """Check an id given outside an event (a path or query parameter)."""
    return _id(field, value)
