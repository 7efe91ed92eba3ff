"""The reference design's three routes, answered in its own shape.

Clients written against the reference keep working: same paths, same field names,
the same `time_window` text. Unlike the reference, the day is today's local day (or
`date`), never a fixed one, and the total counts a minute played in two games once.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query

from gametime.api.dependencies import BackendDep, DayQuery, GameIdPath, UserIdPath
from gametime.api.schemas import ReferencePlaytimeOut
from gametime.api.security import Scope, requires
from gametime.domain.events import MAX_ID_LENGTH
from gametime.services.playtime import DayWindow

router = APIRouter(tags=["reference"], dependencies=requires(Scope.READ))


def time_window(window: DayWindow) -> str:
    return f"{_seconds(window.start)} to {_seconds(window.end)}"


def _seconds(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@router.get(
    "/total_playing_time/user_id={user_id}", response_model=ReferencePlaytimeOut
)
async def total_playing_time(
    user_id: UserIdPath, backend: BackendDep, day: DayQuery = None
) -> ReferencePlaytimeOut:
    played = await backend.playtime.day_playtime(user_id, day)
    return ReferencePlaytimeOut(
        user_id=user_id,
        game_id=None,
        playing_time_minutes=played.total_minutes,
        time_window=time_window(played.window),
    )


@router.get(
    "/specific_playing_time/user_id={user_id}&game_id={game_id}",
    response_model=ReferencePlaytimeOut,
)
async def specific_playing_time(
    user_id: UserIdPath, game_id: GameIdPath, backend: BackendDep, day: DayQuery = None
) -> ReferencePlaytimeOut:
    played = await backend.playtime.game_playtime(user_id, game_id, day)
    return ReferencePlaytimeOut(
        user_id=user_id,
        game_id=game_id,
        playing_time_minutes=played.game_minutes,
        time_window=time_window(played.window),
    )


@router.get("/user_playing_time", response_model=ReferencePlaytimeOut)
async def user_playing_time(
    backend: BackendDep,
    user_id: str = Query(min_length=1, max_length=MAX_ID_LENGTH),
    game_id: str | None = Query(None, min_length=1, max_length=MAX_ID_LENGTH),
    day: DayQuery = None,
) -> ReferencePlaytimeOut:
    """One game's minutes when game_id is given, else the day's total."""
    if game_id is None:
        return await total_playing_time(user_id, backend, day)
    return await specific_playing_time(user_id, game_id, backend, day)
