"""Local days and minute indexes in the configured time zone.

A local day runs from local midnight to the next one. In a zone with daylight saving
time a day can last 23 or 25 hours; minute indexes count real elapsed minutes from
the day's start, so the two real minutes that share a wall time when clocks go back
are two different minutes. `MINUTES_PER_DAY_MAX` bounds the index for any zone;
offset changes make some days longer than DST's 25 hours (Antarctica/Troll has a
26-hour day every October, Asia/Magadan had one in 2014).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gametime.domain.event_time import US_PER_MINUTE, US_PER_SECOND

# 32 hours: longer than any local day since 1970 in tzdata, the longest of which
# lasted 31 hours (Antarctica/Vostok, 1994-01-31).
MINUTES_PER_DAY_MAX = 1920


# The days the service can speak of: events start in 1970, and the calendar needs
# the day after any day it shows, which the last days of year 9999 do not have.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(9999, 12, 28)


def check_day(day: date) -> date:
    """`day` itself, or a ValueError naming the days that can be asked about."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(
            f"{day.isoformat()!r} is outside the days kept, "
            f"{FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
        )
    return day


@dataclass(frozen=True, slots=True)
class DaySpan:
    """One local day as the half-open range of instants [start_us, end_us)."""

    day: date
    start_us: int
    end_us: int

    @property
    def minutes(self) -> int:
        return (self.end_us - self.start_us) // US_PER_MINUTE

    def contains(self, instant_us: int) -> bool:
        return self.start_us <= instant_us < self.end_us


class LocalCalendar:
    """Maps instants to (local day, minute of day) in one zone.

    Spans are cached per day because a stream's events cluster in few days; the
    cache is bounded so a long import cannot grow it without limit.
    """

    _CACHE_LIMIT = 4_096

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._spans: dict[date, DaySpan] = {}
        self._last: DaySpan | None = None

    def locate(self, instant_us: int) -> tuple[date, int]:
        """The local day an instant belongs to, and its minute index in that day."""
        span = self._last
        if span is None or not span.start_us <= instant_us < span.end_us:
            span = self.span(self._local_date(instant_us))
            self._last = span
        return span.day, (instant_us - span.start_us) // US_PER_MINUTE

    def span(self, day: date) -> DaySpan:
        span = self._spans.get(day)
        if span is None:
            if len(self._spans) >= self._CACHE_LIMIT:
                self._spans.clear()
            span = DaySpan(day, self._midnight_us(day), self._midnight_us(_next(day)))
            self._spans[day] = span
        return span

    def today(self, now_us: int) -> date:
        return self._local_date(now_us)

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The day's first and last second as aware local datetimes (for display)."""
        span = self.span(day)
        start = datetime.fromtimestamp(span.start_us // US_PER_SECOND, self.zone)
        last = datetime.fromtimestamp(span.end_us // US_PER_SECOND - 1, self.zone)
        return start, last

    def next_midnight(self, instant_us: int) -> datetime:
        """When the day holding `instant_us` ends and counting starts from zero."""
        span = self.span(self._local_date(instant_us))
        return datetime.fromtimestamp(span.end_us // US_PER_SECOND, self.zone)

    def _local_date(self, instant_us: int) -> date:
        return datetime.fromtimestamp(instant_us // US_PER_SECOND, self.zone).date()

    def _midnight_us(self, day: date) -> int:
        # fold=0 at a midnight skipped by a spring-forward gap yields the instant
        # of the transition, which is where such a day really starts.
        midnight = datetime.combine(day, time(0), tzinfo=self.zone)
        return int(midnight.timestamp()) * US_PER_SECOND


def _next(day: date) -> date:
    return day + timedelta(days=1)
