"""How long a user played, and whether the user may keep playing."""

from __future__ import annotations

from fastapi import APIRouter

from gametime.api.dependencies import BackendDep, DayQuery, GameIdPath, UserIdPath
from gametime.api.schemas import (
    AllowanceOut,
    DayPlaytimeOut,
    GamePlaytimeOut,
    LimitsOut,
    Window,
)
from gametime.api.security import Scope, requires
from gametime.services.playtime import DayWindow

router = APIRouter(
    prefix="/v1/users/{user_id}", tags=["playtime"], dependencies=requires(Scope.READ)
)


def window_out(window: DayWindow) -> Window:
    return Window(start=window.start, end=window.end)


@router.get("/playtime", response_model=DayPlaytimeOut)
async def day_playtime(
    user_id: UserIdPath, backend: BackendDep, day: DayQuery = None
) -> DayPlaytimeOut:
    """Distinct minutes of one local day, in total and per game."""
    played = await backend.playtime.day_playtime(user_id, day)
    return DayPlaytimeOut(
        user_id=user_id,
        date=played.window.day,
        timezone=backend.settings.timezone,
        window=window_out(played.window),
        total_minutes=played.total_minutes,
        games=played.games,
        minor=played.minor,
        limits=LimitsOut.of(played.limits),
        remaining_total_minutes=played.remaining_total_minutes,
    )


@router.get("/games/{game_id}/playtime", response_model=GamePlaytimeOut)
async def game_playtime(
    user_id: UserIdPath, game_id: GameIdPath, backend: BackendDep, day: DayQuery = None
) -> GamePlaytimeOut:
    """Distinct minutes of one local day in one game, beside the day's total."""
    played = await backend.playtime.game_playtime(user_id, game_id, day)
    return GamePlaytimeOut(
        user_id=user_id,
        game_id=game_id,
        date=played.window.day,
        timezone=backend.settings.timezone,
        window=window_out(played.window),
        game_minutes=played.game_minutes,
        total_minutes=played.total_minutes,
        minor=played.minor,
        limits=LimitsOut.of(played.limits),
        remaining_game_minutes=played.remaining_game_minutes,
        remaining_total_minutes=played.remaining_total_minutes,
    )


@router.get("/games/{game_id}/allowance", response_model=AllowanceOut)
async def allowance(
    user_id: UserIdPath, game_id: GameIdPath, backend: BackendDep
) -> AllowanceOut:
    """May the user keep playing this game now? Minors: while used < limit."""
    answer = await backend.playtime.allowance(user_id, game_id)
    decision = answer.decision
    return AllowanceOut(
        user_id=user_id,
        game_id=game_id,
        date=answer.day,
        timezone=backend.settings.timezone,
        at=answer.at,
        allowed=decision.allowed,
        reason=decision.reason,
        minor=decision.minor,
        game_minutes=answer.game_minutes,
        total_minutes=answer.total_minutes,
        game_limit=decision.game_limit,
        total_limit=decision.total_limit,
        remaining_game_minutes=decision.remaining_game_minutes,
        remaining_total_minutes=decision.remaining_total_minutes,
        resets_at=decision.resets_at,
        stale=answer.stale,
    )
