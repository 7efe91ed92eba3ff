"""Distinct active minutes: the set of minutes a user played in one local day.

A day's minutes are a bitmap of `BITMAP_BYTES` bytes in which minute `i` is bit `i`
counted from the most significant bit of the first byte. That is the layout of a
Redis string written with SETBIT, so every store keeps and compares the same bytes.
In memory the bitmap is a Python int whose highest bit is minute 0; counting is a
popcount, and merging two sets is a bitwise OR, which is what makes replays,
duplicates and out-of-order delivery harmless.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from gametime.domain.calendar import MINUTES_PER_DAY_MAX, LocalCalendar
from gametime.domain.events import Event

BITMAP_BYTES = (MINUTES_PER_DAY_MAX + 7) // 8
BITMAP_BITS = BITMAP_BYTES * 8

MinuteSet = int
GameDayKey = tuple[str, date, str]  # (user_id, day, game_id)
UserDayKey = tuple[str, date]  # (user_id, day)


def minute_bit(minute: int) -> MinuteSet:
    return 1 << (BITMAP_BITS - 1 - minute)


# tally looks bits up: building them with a call per event costs more than counting.
_MINUTE_BITS = tuple(minute_bit(minute) for minute in range(BITMAP_BITS))


def count(minutes: MinuteSet) -> int:
    return minutes.bit_count()


def to_bytes(minutes: MinuteSet) -> bytes:
    return minutes.to_bytes(BITMAP_BYTES, "big")


def from_bytes(bitmap: bytes | None) -> MinuteSet:
    """Read a stored bitmap; Redis returns it cut after its last non-zero byte."""
    if not bitmap:
        return 0
    return int.from_bytes(bitmap.ljust(BITMAP_BYTES, b"\0"), "big")


def minute_indexes(minutes: MinuteSet) -> list[int]:
    """The minute indexes present, in ascending order."""
    found = []
    remaining = minutes
    while remaining:
        top = remaining.bit_length() - 1
        found.append(BITMAP_BITS - 1 - top)
        remaining ^= 1 << top
    return found


@dataclass
class MinuteMarks:
    """The minutes a batch of events marks, per (user, day, game) and per (user, day).

    The total of a user-day is the union over its games, so a minute played in two
    games counts once.
    """

    games: dict[GameDayKey, MinuteSet] = field(default_factory=dict)
    totals: dict[UserDayKey, MinuteSet] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.games)

    def of_user_day(self, user_id: str, day: date) -> MinuteMarks:
        """Only the marks of one user-day."""
        return MinuteMarks(
            games={k: v for k, v in self.games.items() if k[:2] == (user_id, day)},
            totals={k: v for k, v in self.totals.items() if k == (user_id, day)},
        )


def tally(events: Iterable[Event], calendar: LocalCalendar) -> MinuteMarks:
    """Group events into the minutes they mark; the heart of every processor."""
    games: defaultdict[GameDayKey, MinuteSet] = defaultdict(int)
    locate = calendar.locate
    bits = _MINUTE_BITS
    for event in events:
        day, minute = locate(event.instant_us)
        games[(event.user_id, day, event.game_id)] |= bits[minute]

    totals: defaultdict[UserDayKey, MinuteSet] = defaultdict(int)
    for (user_id, day, _game_id), minutes in games.items():
        totals[(user_id, day)] |= minutes
    return MinuteMarks(games=dict(games), totals=dict(totals))


def pack(minutes: MinuteSet) -> bytes:
    """A compact form for stores that keep many days: only the bytes that hold set
    bits, behind their start as a 2-byte big-endian byte offset.

    An hour of evening play packs into about 10 bytes instead of a 240-byte bitmap.
    The empty set packs to b"". The bytes are cut from the int directly: building
    the whole bitmap first costs more than all the rest of a write.
    """
    if not minutes:
        return b""
    first = (BITMAP_BITS - minutes.bit_length()) // 8
    last = (BITMAP_BITS - (minutes & -minutes).bit_length()) // 8
    kept = minutes >> (8 * (BITMAP_BYTES - 1 - last))
    return first.to_bytes(2, "big") + kept.to_bytes(last - first + 1, "big")


def unpack(packed: bytes | None) -> MinuteSet:
    if not packed:
        return 0
    start = int.from_bytes(packed[:2], "big")
    return from_bytes(bytes(start) + packed[2:])
