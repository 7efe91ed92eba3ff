"""Request and response bodies of the HTTP API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from gametime.domain.policy import Limits, Reason


class RejectedEvent(BaseModel):
    index: int = Field(description="Position of the event in the batch (from 0)")
    field: str = Field(description="The field that was wrong, or 'event'")
    reason: str


class IngestResponse(BaseModel):
    accepted: int
    rejected: list[RejectedEvent]


class Window(BaseModel):
    start: datetime = Field(description="The local day's first second, with offset")
    end: datetime = Field(description="The local day's last second, with offset")


class LimitsOut(BaseModel):
    game_minutes: int
    total_minutes: int
    game_overrides: dict[str, int]

    @classmethod
    def of(cls, limits: Limits) -> LimitsOut:
        return cls(
            game_minutes=limits.game_minutes,
            total_minutes=limits.total_minutes,
            game_overrides=dict(limits.game_overrides),
        )


class DayPlaytimeOut(BaseModel):
    user_id: str
    date: date
    timezone: str
    window: Window
    total_minutes: int
    games: dict[str, int]
    minor: bool
    limits: LimitsOut
    remaining_total_minutes: int | None = Field(
        description="Minutes left today in total; null when the user is not limited"
    )


class GamePlaytimeOut(BaseModel):
    user_id: str
    game_id: str
    date: date
    timezone: str
    window: Window
    game_minutes: int
    total_minutes: int
    minor: bool
    limits: LimitsOut
    remaining_game_minutes: int | None
    remaining_total_minutes: int | None


class AllowanceOut(BaseModel):
    user_id: str
    game_id: str
    date: date
    timezone: str
    at: datetime = Field(description="The moment the decision was made")
    allowed: bool
    reason: Reason
    minor: bool
    game_minutes: int
    total_minutes: int
    game_limit: int | None
    total_limit: int | None
    remaining_game_minutes: int | None
    remaining_total_minutes: int | None
    resets_at: datetime = Field(description="Next local midnight: counting restarts")
    stale: bool = Field(
        description="The counts may miss recent play (processors behind, or state "
        "lost); a minor is then refused unless the service allows it"
    )


class ProfileIn(BaseModel):
    birth_date: date | None = Field(default=None, description="Judges minor status")
    minor: bool | None = Field(
        default=None, description="An explicit minor flag, when no birth date is known"
    )


class ProfileOut(ProfileIn):
    user_id: str


class RawEventOut(BaseModel):
    user_id: str
    game_id: str
    role_id: str | None
    event_time: str = Field(description="The event_time exactly as received")
    instant: datetime = Field(description="The instant it names, in UTC")


class EventPageOut(BaseModel):
    user_id: str
    date: date
    events: list[RawEventOut]
    next_cursor: str | None


class ReferencePlaytimeOut(BaseModel):
    """The reference design's answer, kept field for field."""

    user_id: str
    game_id: str | None
    playing_time_minutes: int
    time_window: str = Field(
        examples=["2024-07-17T00:00:00+07:00 to 2024-07-17T23:59:59+07:00"]
    )


class HealthOut(BaseModel):
    status: str = Field(description="ok, or degraded with the problems named")
    backend: str
    problems: list[str]
    lag: int | None = Field(description="Messages the processors are behind")
