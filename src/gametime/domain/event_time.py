"""Parsing an event's `event_time` into a UTC instant.

Accepted forms:
- ISO-8601 calendar date and time, `T` or a space between them, minutes required,
  seconds optional, any number of fraction digits (`.` or `,`), an optional offset
  (`Z`, `+07:00`, `+0700`, `+07`). A time without an offset is wall time in the
  configured zone. A leap second (`:60`) is read as `:59`.
- An integer number of milliseconds since the Unix epoch.

Instants are kept as integer microseconds since the epoch. Fraction digits past the
sixth are truncated, never rounded, so 23:59:59.9999999 stays in minute 23:59.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from gametime.errors import InvalidEvent

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND

# Instants before this are rejected as implausible for online play; the bound also
# keeps every instant a positive 64-bit number for the stores.
EARLIEST_US = 0
# Two days short of datetime's limit, so that an accepted instant, its local day
# and the next one exist in every zone (error messages and the calendar need them).
LATEST_EPOCH_MS = 253_402_127_999_999  # 9999-12-29T23:59:59.999Z
LATEST_US = LATEST_EPOCH_MS * 1_000 + 999

# The original text is stored with every event; no real timestamp comes near this.
MAX_TEXT_LENGTH = 64

_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})"
    r"(?::(\d{2})(?:[.,](\d+))?)?"
    r"(Z|z|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII,  # \d must not match other scripts' digits, such as fullwidth ones
)
_ACCEPTED = (
    "an ISO-8601 date and time such as 2024-07-17T10:15:00+07:00 "
    "or integer epoch milliseconds"
)


def parse_event_time(value: object, zone: ZoneInfo) -> int:
    """Return the instant `value` names, in microseconds since the epoch.

    Raises InvalidEvent naming `event_time` and the value when it is not accepted.
    """
    if isinstance(value, str):
        return _parse_iso(value, zone)
    if isinstance(value, int) and not isinstance(value, bool):
        return _parse_epoch_ms(value)
    raise InvalidEvent("event_time", f"expected {_ACCEPTED}, got {_shown(value)}")


def _parse_epoch_ms(value: int) -> int:
    if not 0 <= value <= LATEST_EPOCH_MS:
        raise InvalidEvent(
            "event_time",
            f"epoch milliseconds {value!r} out of range 0..{LATEST_EPOCH_MS}",
        )
    return value * 1_000


def _parse_epoch_digits(text: str) -> int:
    # int() raises a plain ValueError past 4,300 digits; no accepted value has more
    # digits than the bound, so a longer string is out of range without converting.
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(LATEST_EPOCH_MS)):
        raise InvalidEvent(
            "event_time",
            f"epoch milliseconds {text[:32]!r}... ({len(text)} digits) out of range "
            f"0..{LATEST_EPOCH_MS}",
        )
    return _parse_epoch_ms(int(digits))


def _parse_iso(text: str, zone: ZoneInfo) -> int:
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidEvent(
            "event_time",
            f"is {len(text)} characters long, at most {MAX_TEXT_LENGTH} accepted "
            f"(starts {text[:32]!r})",
        )
    match = _ISO.fullmatch(text)
    if match is None:
        if text.isascii() and text.isdigit():
            return _parse_epoch_digits(text)
        raise InvalidEvent("event_time", f"expected {_ACCEPTED}, got {_shown(text)}")

    year, month, day, hour, minute, second, fraction, offset = match.groups()
    seconds = int(second) if second else 0
    seconds = 59 if seconds == 60 else seconds
    try:
        wall = datetime(
            int(year), int(month), int(day), int(hour), int(minute), seconds
        )
    except ValueError as exc:
        raise InvalidEvent(
            "event_time", f"{_shown(text)} is not a real time: {exc}"
        ) from exc

    micros = int((fraction + "00000")[:6]) if fraction else 0
    offset_s = _offset_seconds(offset, text) if offset else _zone_offset(wall, zone)
    wall_s = (wall.toordinal() - _EPOCH_ORDINAL) * 86_400 + (
        wall.hour * 3_600 + wall.minute * 60 + wall.second
    )
    instant = (wall_s - offset_s) * US_PER_SECOND + micros
    if instant < EARLIEST_US:
        raise InvalidEvent(
            "event_time", f"{_shown(text)} is before 1970-01-01T00:00:00Z"
        )
    if instant > LATEST_US:
        raise InvalidEvent(
            "event_time", f"{_shown(text)} is after 9999-12-29T23:59:59Z"
        )
    return instant


def _offset_seconds(offset: str, text: str) -> int:
    if offset in ("Z", "z"):
        return 0
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    if hours > 23 or minutes > 59:
        raise InvalidEvent(
            "event_time", f"{_shown(text)} has an impossible offset {offset!r}"
        )
    return sign * (hours * 3_600 + minutes * 60)


def _zone_offset(wall: datetime, zone: ZoneInfo) -> int:
    # fold=0: an ambiguous wall time (the repeated hour when clocks go back) is read
    # as its first occurrence; a wall time inside a spring-forward gap is read with
    # the offset from before the gap, as zoneinfo does.
    offset = zone.utcoffset(wall)
    return int(offset.total_seconds()) if offset is not None else 0


def format_instant(instant_us: int, zone: ZoneInfo) -> str:
    """The instant as ISO-8601 with the zone's offset at that moment."""
    seconds, micros = divmod(instant_us, US_PER_SECOND)
    local = datetime.fromtimestamp(seconds, zone) + timedelta(microseconds=micros)
    return local.isoformat()


def instant_datetime(instant_us: int, zone: tzinfo = UTC) -> datetime:
    """The instant as an aware datetime, exact to the microsecond."""
    return (_EPOCH_UTC + timedelta(microseconds=instant_us)).astimezone(zone)


def _shown(value: object) -> str:
    """The value for an error message, cut short: a reason must not carry megabytes."""
    shown = repr(value)
    return shown if len(shown) <= 80 else shown[:77] + "..."
