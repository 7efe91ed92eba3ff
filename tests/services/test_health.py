"""Health and freshness, with in-memory stand-ins for the board and the markers."""

from __future__ import annotations

import asyncio

import pytest

from gametime.domain.clock import FixedClock
from gametime.errors import BackendUnavailable
from gametime.ports import ProcessorReport
from gametime.services.health import FreshnessRules, HealthService, ProcessorHeartbeat

NOW_US = 1_721_200_000_000_000
RULES = FreshnessRules("processors", stale_after_s=15, max_lag=1_000)


class Board:
    def __init__(self, *reports: ProcessorReport) -> None:
        self.reports = list(reports)
        self.failing = False

    async def report_processor(self, group: str, report: ProcessorReport) -> None:
        if self.failing:
            raise BackendUnavailable("board down")
        self.reports = [r for r in self.reports if r.member != report.member]
        self.reports.append(report)

    async def processor_reports(self, group: str) -> list[ProcessorReport]:
        return list(self.reports)


class Marker:
    def __init__(self, mark: str | None = None) -> None:
        self.mark = mark

    async def state_mark(self) -> str | None:
        return self.mark

    async def set_state_mark(self, mark: str) -> None:
        self.mark = mark

    async def claim_state_mark(self, mark: str) -> str:
        if self.mark is None:
            self.mark = mark
        return self.mark


def service(board: Board, minutes: Marker, durable: Marker) -> HealthService:
    ticks = iter(range(0, 10_000, 5))  # each check is 5 s after the last: no cache
    return HealthService(
        FixedClock(NOW_US), RULES, board, minutes, durable, lambda: next(ticks)
    )


def reported(member: str, lag: int, seconds_ago: float) -> ProcessorReport:
    return ProcessorReport(member, lag, NOW_US - int(seconds_ago * 1_000_000))


def check(health: HealthService) -> tuple[list[str], int | None]:
    found = asyncio.run(health.check())
    return found.problems, found.lag


def test_recent_reports_with_small_lag_are_healthy() -> None:
    board = Board(reported("a", 10, 1), reported("b", 5, 2))

    assert check(service(board, Marker("m"), Marker("m"))) == ([], 15)


def test_no_recent_report_is_stale() -> None:
    board = Board(reported("a", 0, 60))

    problems, lag = check(service(board, Marker("m"), Marker("m")))

    assert lag is None
    assert "no processor of group 'processors' reported in the last 15 s" in problems


def test_a_dead_member_is_ignored_and_lag_over_the_limit_is_stale() -> None:
    board = Board(reported("dead", 5_000_000, 120), reported("alive", 1_001, 1))

    problems, lag = check(service(board, Marker("m"), Marker("m")))

    assert lag == 1_001
    assert problems == ["processors are 1001 messages behind (over 1000)"]


def test_a_minute_store_without_the_mark_lost_its_state() -> None:
    board = Board(reported("a", 0, 1))

    problems, _ = check(service(board, Marker(None), Marker("m")))

    assert "the minute store lost its state" in problems[0]


def test_first_start_marks_both_stores_alike_and_restore_heals() -> None:
    minutes, durable = Marker(None), Marker(None)
    health = service(Board(reported("a", 0, 1)), minutes, durable)

    asyncio.run(health.mark_new_state())
    assert minutes.mark is not None
    assert minutes.mark == durable.mark

    minutes.mark = None  # the minute store restarts empty
    asyncio.run(health.mark_new_state())  # a restart must not hide the loss
    assert check(health)[0]
    asyncio.run(health.restore_mark())
    assert check(health) == ([], 0)


def test_checks_are_cached_for_a_second() -> None:
    board = Board(reported("a", 0, 1))
    now = [0.0]
    health = HealthService(
        FixedClock(NOW_US), RULES, board, Marker("m"), Marker("m"), lambda: now[0]
    )

    assert check(health)[0] == []
    board.reports = []
    assert check(health)[0] == []  # cached
    now[0] = 1.5
    assert check(health)[0] != []


def test_heartbeat_reports_lag_and_survives_a_failing_board(
    caplog: pytest.LogCaptureFixture,
) -> None:
    board = Board()
    beat = ProcessorHeartbeat(board, "processors", lambda: 42, FixedClock(NOW_US))

    asyncio.run(beat.beat())
    board.failing = True
    asyncio.run(beat.beat())

    assert [(r.lag, r.at_us) for r in board.reports] == [(42, NOW_US)]
    assert "could not report lag" in caplog.text
