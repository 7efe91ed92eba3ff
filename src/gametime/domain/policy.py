"""The play-time policy: may a user keep playing a game right now?

A minor may play while the minutes used today are below both the game's limit and
the daily total limit; an adult is never limited. Limits are configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class Limits:
    """Daily limits for minors, in minutes; `game_overrides` replaces the game limit."""

    game_minutes: int = 60
    total_minutes: int = 120
    game_overrides: Mapping[str, int] = field(default_factory=dict)

    def for_game(self, game_id: str) -> int:
        return self.game_overrides.get(game_id, self.game_minutes)


class Reason(StrEnum):
    WITHIN_LIMITS = "within_limits"
    GAME_LIMIT_REACHED = "game_limit_reached"
    TOTAL_LIMIT_REACHED = "total_limit_reached"
    DATA_STALE = "data_stale"
    NOT_LIMITED = "not_a_minor"


@dataclass(frozen=True, slots=True)
class Usage:
    """Distinct minutes played on one local day: in one game and in all games."""

    game_minutes: int
    total_minutes: int


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: Reason
    minor: bool
    game_limit: int | None
    total_limit: int | None
    remaining_game_minutes: int | None
    remaining_total_minutes: int | None
    resets_at: datetime


def remaining(limit: int, used: int) -> int:
    """Minutes left under a limit; never negative, even when late events overshoot."""
    return max(limit - used, 0)


def decide(
    usage: Usage,
    game_id: str,
    minor: bool,
    limits: Limits,
    resets_at: datetime,
    stale: bool = False,
    allow_when_stale: bool = False,
) -> Decision:
    """Apply the policy. When both limits are reached, the total is named.

    `stale` says the counts may miss recent play (the processors lag behind). A
    minor is then refused unless `allow_when_stale`: refusing is the safe side,
    since a stale count can only be too low.
    """
    if not minor:
        return Decision(
            True, Reason.NOT_LIMITED, False, None, None, None, None, resets_at
        )

    game_limit = limits.for_game(game_id)
    total_limit = limits.total_minutes
    if usage.total_minutes >= total_limit:
        reason = Reason.TOTAL_LIMIT_REACHED
    elif usage.game_minutes >= game_limit:
        reason = Reason.GAME_LIMIT_REACHED
    elif stale and not allow_when_stale:
        reason = Reason.DATA_STALE
    else:
        reason = Reason.WITHIN_LIMITS
    return Decision(
        allowed=reason is Reason.WITHIN_LIMITS,
        reason=reason,
        minor=True,
        game_limit=game_limit,
        total_limit=total_limit,
        remaining_game_minutes=remaining(game_limit, usage.game_minutes),
        remaining_total_minutes=remaining(total_limit, usage.total_minutes),
        resets_at=resets_at,
    )
