"""Answering how long a user played and whether a user may keep playing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from gametime.domain.calendar import LocalCalendar
from gametime.domain.clock import Clock
from gametime.domain.event_time import instant_datetime
from gametime.domain.policy import Decision, Limits, Usage, decide, remaining
from gametime.ports import MinuteStore, ProfileStore
from gametime.services.health import HealthService


@dataclass(frozen=True, slots=True)
class DayWindow:
    day: date
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class DayPlaytime:
    user_id: str
    window: DayWindow
    total_minutes: int
    games: dict[str, int]
    minor: bool
    limits: Limits

    @property
    def remaining_total_minutes(self) -> int | None:
        if not self.minor:
            return None
        return remaining(self.limits.total_minutes, self.total_minutes)


@dataclass(frozen=True, slots=True)
class GamePlaytime:
    user_id: str
    game_id: str
    window: DayWindow
    game_minutes: int
    total_minutes: int
    minor: bool
    limits: Limits

    @property
    def remaining_game_minutes(self) -> int | None:
        if not self.minor:
            return None
        return remaining(self.limits.for_game(self.game_id), self.game_minutes)

    @property
    def remaining_total_minutes(self) -> int | None:
        if not self.minor:
            return None
        return remaining(self.limits.total_minutes, self.total_minutes)


@dataclass(frozen=True, slots=True)
class Allowance:
    user_id: str
    game_id: str
    day: date
    at: datetime
    game_minutes: int
    total_minutes: int
    decision: Decision
    stale: bool


class PlaytimeService:
    def __init__(
        self,
        minutes: MinuteStore,
        profiles: ProfileStore,
        calendar: LocalCalendar,
        clock: Clock,
        limits: Limits,
        unknown_user_is_minor: bool,
        health: HealthService | None = None,
        allow_minors_when_stale: bool = False,
    ) -> None:
        self.health = health
        self.allow_minors_when_stale = allow_minors_when_stale
        self.minutes = minutes
        self.profiles = profiles
        self.calendar = calendar
        self.clock = clock
        self.limits = limits
        self.unknown_user_is_minor = unknown_user_is_minor

    def today(self) -> date:
        return self.calendar.today(self.clock.now_us())

    def window(self, day: date) -> DayWindow:
        start, end = self.calendar.window(day)
        return DayWindow(day, start, end)

    async def day_playtime(self, user_id: str, day: date | None = None) -> DayPlaytime:
        day = day or self.today()
        usage = await self.minutes.read_day(user_id, day)
        return DayPlaytime(
            user_id=user_id,
            window=self.window(day),
            total_minutes=usage.total_minutes,
            games=usage.games,
            minor=await self.is_minor(user_id, day),
            limits=self.limits,
        )

    async def game_playtime(
        self, user_id: str, game_id: str, day: date | None = None
    ) -> GamePlaytime:
        day = day or self.today()
        game_minutes, total_minutes = await self.minutes.read_game(
            user_id, day, game_id
        )
        return GamePlaytime(
            user_id=user_id,
            game_id=game_id,
            window=self.window(day),
            game_minutes=game_minutes,
            total_minutes=total_minutes,
            minor=await self.is_minor(user_id, day),
            limits=self.limits,
        )

    async def allowance(self, user_id: str, game_id: str) -> Allowance:
        now_us = self.clock.now_us()
        day = self.calendar.today(now_us)
        game_minutes, total_minutes = await self.minutes.read_game(
            user_id, day, game_id
        )
        stale = self.health is not None and (await self.health.check()).degraded
        decision = decide(
            Usage(game_minutes, total_minutes),
            game_id,
            minor=await self.is_minor(user_id, day),
            limits=self.limits,
            resets_at=self.calendar.next_midnight(now_us),
            stale=stale,
            allow_when_stale=self.allow_minors_when_stale,
        )
        return Allowance(
            user_id=user_id,
            game_id=game_id,
            day=day,
            at=instant_datetime(now_us, self.calendar.zone),
            game_minutes=game_minutes,
            total_minutes=total_minutes,
            decision=decision,
            stale=stale,
        )

    async def is_minor(self, user_id: str, day: date) -> bool:
        profile = await self.profiles.get_profile(user_id)
        if profile is None:
            return self.unknown_user_is_minor
        return profile.is_minor_on(day)
