"""The play-time policy at and around its limits."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gametime.domain.policy import Decision, Limits, Reason, Usage, decide, remaining

RESETS_AT = datetime(2024, 7, 18, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
DEFAULT = Limits()


def minor_decision(
    game_minutes: int, total_minutes: int, limits: Limits = DEFAULT, game: str = "g1"
) -> Decision:
    usage = Usage(game_minutes=game_minutes, total_minutes=total_minutes)
    return decide(usage, game, True, limits, RESETS_AT)


def test_default_limits_are_60_a_game_and_120_in_total() -> None:
    assert (DEFAULT.for_game("any"), DEFAULT.total_minutes) == (60, 120)


@pytest.mark.parametrize(
    ("game_minutes", "allowed", "reason", "remaining_game"),
    [
        (59, True, Reason.WITHIN_LIMITS, 1),
        (60, False, Reason.GAME_LIMIT_REACHED, 0),
        (61, False, Reason.GAME_LIMIT_REACHED, 0),
    ],
)
def test_minor_may_play_a_game_while_under_60_minutes(
    game_minutes: int, allowed: bool, reason: Reason, remaining_game: int
) -> None:
    decision = minor_decision(game_minutes, total_minutes=game_minutes)
    assert (decision.allowed, decision.reason) == (allowed, reason)
    assert decision.remaining_game_minutes == remaining_game
    assert decision.remaining_total_minutes == 120 - game_minutes


@pytest.mark.parametrize(
    ("total_minutes", "allowed", "reason", "remaining_total"),
    [
        (119, True, Reason.WITHIN_LIMITS, 1),
        (120, False, Reason.TOTAL_LIMIT_REACHED, 0),
        (121, False, Reason.TOTAL_LIMIT_REACHED, 0),
    ],
)
def test_minor_may_play_while_under_120_minutes_in_total(
    total_minutes: int, allowed: bool, reason: Reason, remaining_total: int
) -> None:
    decision = minor_decision(game_minutes=10, total_minutes=total_minutes)
    assert (decision.allowed, decision.reason) == (allowed, reason)
    assert decision.remaining_total_minutes == remaining_total
    assert decision.remaining_game_minutes == 50


def test_when_both_limits_are_reached_the_total_is_named() -> None:
    decision = minor_decision(game_minutes=60, total_minutes=120)
    assert (decision.allowed, decision.reason) == (False, Reason.TOTAL_LIMIT_REACHED)
    assert (decision.remaining_game_minutes, decision.remaining_total_minutes) == (0, 0)


def test_decision_reports_the_limits_applied() -> None:
    decision = minor_decision(0, 0)
    assert decision == Decision(
        allowed=True,
        reason=Reason.WITHIN_LIMITS,
        minor=True,
        game_limit=60,
        total_limit=120,
        remaining_game_minutes=60,
        remaining_total_minutes=120,
        resets_at=RESETS_AT,
    )


def test_per_game_override_replaces_the_game_limit() -> None:
    limits = Limits(game_overrides={"chess": 90})
    assert minor_decision(89, 89, limits, game="chess").allowed
    chess = minor_decision(90, 90, limits, game="chess")
    assert (chess.allowed, chess.reason, chess.game_limit) == (
        False,
        Reason.GAME_LIMIT_REACHED,
        90,
    )
    other = minor_decision(60, 60, limits, game="go")
    assert (other.allowed, other.game_limit) == (False, 60)


def test_override_above_the_total_is_still_capped_by_the_total() -> None:
    limits = Limits(game_overrides={"chess": 500})
    decision = minor_decision(120, 120, limits, game="chess")
    assert decision.reason is Reason.TOTAL_LIMIT_REACHED


def test_zero_override_blocks_a_game_from_the_first_minute() -> None:
    limits = Limits(game_overrides={"casino": 0})
    decision = minor_decision(0, 0, limits, game="casino")
    assert (decision.allowed, decision.reason) == (False, Reason.GAME_LIMIT_REACHED)


@pytest.mark.parametrize("usage", [Usage(0, 0), Usage(500, 1_000)])
def test_adult_is_never_limited(usage: Usage) -> None:
    decision = decide(usage, "g1", False, DEFAULT, RESETS_AT)
    assert decision == Decision(
        allowed=True,
        reason=Reason.NOT_LIMITED,
        minor=False,
        game_limit=None,
        total_limit=None,
        remaining_game_minutes=None,
        remaining_total_minutes=None,
        resets_at=RESETS_AT,
    )


def test_resets_at_is_passed_through() -> None:
    assert minor_decision(200, 200).resets_at is RESETS_AT


@given(
    game_minutes=st.integers(0, 2_000),
    extra_minutes=st.integers(0, 2_000),
    game_limit=st.integers(0, 300),
    total_limit=st.integers(0, 300),
)
def test_remaining_is_never_negative_and_allowed_means_both_are_positive(
    game_minutes: int, extra_minutes: int, game_limit: int, total_limit: int
) -> None:
    limits = Limits(game_minutes=game_limit, total_minutes=total_limit)
    # The total includes the game's minutes, so it is never smaller.
    decision = minor_decision(game_minutes, game_minutes + extra_minutes, limits)
    assert decision.remaining_game_minutes is not None
    assert decision.remaining_total_minutes is not None
    assert decision.remaining_game_minutes >= 0
    assert decision.remaining_total_minutes >= 0
    both_left = min(decision.remaining_game_minutes, decision.remaining_total_minutes)
    assert decision.allowed == (both_left > 0)


@pytest.mark.parametrize(
    ("limit", "used", "left"), [(60, 0, 60), (60, 59, 1), (60, 60, 0), (60, 61, 0)]
)
def test_remaining_counts_down_to_zero_and_stays_there(
    limit: int, used: int, left: int
) -> None:
    assert remaining(limit, used) == left


def test_a_minor_is_refused_while_the_counts_are_stale() -> None:
    decision = decide(
        Usage(10, 10), "g", minor=True, limits=Limits(), resets_at=RESETS_AT, stale=True
    )

    assert decision.allowed is False
    assert decision.reason is Reason.DATA_STALE
    assert decision.remaining_game_minutes == 50


def test_stale_counts_may_be_allowed_by_configuration() -> None:
    decision = decide(
        Usage(10, 10),
        "g",
        minor=True,
        limits=Limits(),
        resets_at=RESETS_AT,
        stale=True,
        allow_when_stale=True,
    )

    assert decision.allowed is True
    assert decision.reason is Reason.WITHIN_LIMITS


def test_a_reached_limit_is_named_even_when_stale() -> None:
    decision = decide(
        Usage(60, 60), "g", minor=True, limits=Limits(), resets_at=RESETS_AT, stale=True
    )

    assert decision.reason is Reason.GAME_LIMIT_REACHED


def test_staleness_never_limits_an_adult() -> None:
    decision = decide(
        Usage(500, 500),
        "g",
        minor=False,
        limits=Limits(),
        resets_at=RESETS_AT,
        stale=True,
    )

    assert decision.allowed is True
