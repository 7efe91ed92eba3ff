"""Reading a source's time text into an instant, and writing it back as ISO-8601.

A source's times may lack an offset (`30/06/2024 18:12`). Such naive times are read
as wall time in the source's zone, which defaults to the service's zone, as the
service itself reads an `event_time` without an offset. Events always carry an
offset, so the service never has to guess.
"""

from __future__ import annotations

import logging
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gametime.domain.event_time import US_PER_SECOND
from gametime.errors import InvalidInput

logger = logging.getLogger(__name__)

_ISO_HELP = "an ISO-8601 date and time such as 2024-07-17T10:15:00+07:00"


def load_zone(name: str, option: str = "--source-timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            option, f"unknown IANA time zone {name!r}; expected e.g. 'Asia/Taipei'"
        ) from exc


class TimeReader:
    """Parses one source's times: ISO-8601 by default, else a strptime format."""

    def __init__(self, zone: ZoneInfo, time_format: str | None = None) -> None:
        self.zone = zone
        self.time_format = time_format

    def read(self, text: str, column: str) -> datetime:
        """An aware datetime; raises InvalidInput naming the column and the text."""
        try:
            parsed = (
                datetime.strptime(text, self.time_format)
                if self.time_format
                else datetime.fromisoformat(text)
            )
        except ValueError as exc:
            raise InvalidInput(column, f"{text!r} is not {self._expected()}") from exc
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=self.zone)
        return parsed

    def _expected(self) -> str:
        if self.time_format:
            return f"a time in the format {self.time_format!r}"
        return _ISO_HELP


def instant_us(moment: datetime) -> int:
    """Microseconds since the epoch, computed exactly (no float rounding)."""
    seconds = int(moment.replace(microsecond=0).timestamp())
    return seconds * US_PER_SECOND + moment.microsecond


def format_us(instant: int, zone: tzinfo) -> str:
    """ISO-8601 with the offset `zone` has at that instant."""
    seconds, micros = divmod(instant, US_PER_SECOND)
    return datetime.fromtimestamp(seconds, zone).replace(microsecond=micros).isoformat()
