"""Rebuilding a day's minute state from the raw events, through the domain core.

The raw store is the record; the minute store is derived from it. After the minute
store lost data (a Redis restart without persistence), a rebuild recounts each
user-day from its raw events with the same `tally` the processors use and restores
the minutes, reporting what changed.

A rebuild restores: it adds the minutes the store is missing and removes none,
which is safe while processors run. A processor counts an event at once but may
hold its raw event for a minute or more before archiving it (longer while
Cassandra is slow or down), so a minute can be in the store before its raw event
is; removing it would lose it. An `exact` rebuild makes the store equal to the raw
events, minutes removed too: for a store that holds wrong minutes, run it only
with every processor stopped or no events arriving (a processor keeping up with a
busy stream still holds about a minute). It also removes minutes whose raw events
expired by their TTL before the minutes did, so with a raw-event TTL shorter than
the retention it erases those days' counts.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import date

from gametime.domain.calendar import LocalCalendar
from gametime.domain.minutes import tally
from gametime.ports import DayUsage, MinuteStore, RawEventArchive

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DayChange:
    user_id: str
    before: DayUsage
    after: DayUsage


@dataclass
class RebuildReport:
    day: date
    users: int = 0
    events: int = 0
    changed: list[DayChange] = field(default_factory=list)


class Rebuilder:
    def __init__(
        self,
        archive: RawEventArchive,
        minutes: MinuteStore,
        calendar: LocalCalendar,
        concurrency: int = 32,
    ) -> None:
        self.archive = archive
        self.minutes = minutes
        self.calendar = calendar
        self.concurrency = concurrency

    async def rebuild(
        self, day: date, user_id: str | None = None, exact: bool = False
    ) -> RebuildReport:
        """Recount `day` for one user, or for every user with raw events that day."""
        users = [user_id] if user_id else await self.archive.users_on(day)
        report = RebuildReport(day, users=len(users))
        slots = asyncio.Semaphore(self.concurrency)

        async def one(user: str) -> None:
            async with slots:
                await self._rebuild_user(user, day, exact, report)

        await asyncio.gather(*(one(user) for user in users))
        report.changed.sort(key=lambda change: change.user_id)
        logger.info(
            "rebuilt day=%s exact=%s users=%d events=%d changed=%d",
            day,
            exact,
            report.users,
            report.events,
            len(report.changed),
        )
        return report

    async def _rebuild_user(
        self, user_id: str, day: date, exact: bool, report: RebuildReport
    ) -> None:
        events = await self.archive.events_of(user_id, day)
        # Only this day: a changed time zone could place some events elsewhere.
        marks = tally(events, self.calendar).of_user_day(user_id, day)
        before = await self.minutes.read_day(user_id, day)
        if exact:
            await self.minutes.replace_day(user_id, day, marks)
        elif marks:
            await self.minutes.mark_minutes(marks)
        after = await self.minutes.read_day(user_id, day)
        report.events += len(events)
        if before != after:
            report.changed.append(DayChange(user_id, before, after))
