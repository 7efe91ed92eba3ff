"""Is the service healthy, and are its counts fresh?

Two things can make counts wrong without any error: the processors falling behind
(counts miss recent play), and the minute store losing its data (a Redis restarted
without its files). Processors report their lag every second; the minute store and
the durable store keep the same state mark, so a minute store without the mark
lost its data and stays degraded until a full rebuild puts the mark back.

While either holds, allowances treat the counts as stale (see `domain.policy`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from gametime.domain.clock import Clock
from gametime.errors import BackendError
from gametime.ports import (
    DurableStateMarker,
    ProcessorBoard,
    ProcessorReport,
    StateMarker,
)

logger = logging.getLogger(__name__)

CHECK_CACHE_S = 1.0  # allowances at thousands a second share one look


@dataclass(frozen=True)
class Health:
    problems: list[str] = field(default_factory=list)
    lag: int | None = None

    @property
    def degraded(self) -> bool:
        return bool(self.problems)


@dataclass(frozen=True)
class FreshnessRules:
    group: str
    stale_after_s: float
    max_lag: int


class HealthService:
    """The embedded backend has neither processors nor a separate minute store:
    built without `board` and markers, it is always healthy."""

    def __init__(
        self,
        clock: Clock,
        rules: FreshnessRules | None = None,
        board: ProcessorBoard | None = None,
        minute_marker: StateMarker | None = None,
        durable_marker: DurableStateMarker | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.rules = rules
        self.board = board
        self.minute_marker = minute_marker
        self.durable_marker = durable_marker
        self.monotonic = monotonic
        self._cached: tuple[float, Health] | None = None

    async def check(self) -> Health:
        now = self.monotonic()
        if self._cached is not None and now - self._cached[0] < CHECK_CACHE_S:
            return self._cached[1]
        health = await self._check()
        self._cached = (now, health)
        return health

    async def _check(self) -> Health:
        problems: list[str] = []
        lag = None
        try:
            problems += await self._lost_state()
            if self.board is not None and self.rules is not None:
                reports = await self.board.processor_reports(self.rules.group)
                lag, found = self._freshness(reports)
                problems += found
        except BackendError as exc:
            problems.append(f"the state cannot be read: {exc}")
        for problem in problems:
            logger.warning("degraded: %s", problem)
        return Health(problems, lag)

    async def running_processors(self) -> list[ProcessorReport]:
        """The processors that reported within the freshness window: running, or
        stopped less than that long ago."""
        if self.board is None or self.rules is None:
            return []
        return self._recent(await self.board.processor_reports(self.rules.group))

    def _recent(self, reports: list[ProcessorReport]) -> list[ProcessorReport]:
        assert self.rules is not None
        window_us = int(self.rules.stale_after_s * 1_000_000)
        now_us = self.clock.now_us()
        return [r for r in reports if now_us - r.at_us <= window_us]

    def _freshness(
        self, reports: list[ProcessorReport]
    ) -> tuple[int | None, list[str]]:
        assert self.rules is not None
        recent = self._recent(reports)
        if not recent:
            return None, [
                f"no processor of group {self.rules.group!r} reported in the last "
                f"{self.rules.stale_after_s:g} s"
            ]
        lag = sum(r.lag for r in recent)
        if lag > self.rules.max_lag:
            return lag, [
                f"processors are {lag} messages behind (over {self.rules.max_lag})"
            ]
        return lag, []

    async def _lost_state(self) -> list[str]:
        if self.minute_marker is None or self.durable_marker is None:
            return []
        durable, minutes = await asyncio.gather(
            self.durable_marker.state_mark(), self.minute_marker.state_mark()
        )
        if durable is None or durable == minutes:
            return []
        return [
            "the minute store lost its state (its mark is missing or different); "
            "run `gametime rebuild --all`"
        ]

    async def mark_new_state(self) -> None:
        """On a first start, give both stores the same new mark.

        API and processors may start together: the durable store settles which
        mark wins, and the minute store takes that one.
        """
        if self.minute_marker is None or self.durable_marker is None:
            return
        if await self.durable_marker.state_mark() is None:
            mark = await self.durable_marker.claim_state_mark(uuid.uuid4().hex)
            await self.minute_marker.set_state_mark(mark)
            logger.info("new state mark=%s", mark)

    async def restore_mark(self) -> None:
        """After a full rebuild the minute store holds the durable state again."""
        if self.minute_marker is None or self.durable_marker is None:
            return
        mark = await self.durable_marker.state_mark()
        if mark is not None:
            await self.minute_marker.set_state_mark(mark)
        self._cached = None


class ProcessorHeartbeat:
    """Reports a processor's lag every `every_s` seconds, beside its work.

    It runs as its own task, so a processor stuck waiting for a sink still reports
    a growing lag, and a dead one stops reporting: either way readers see stale.
    """

    def __init__(
        self,
        board: ProcessorBoard,
        group: str,
        lag: Callable[[], int],
        clock: Clock,
        every_s: float = 1.0,
    ) -> None:
        self.board = board
        self.group = group
        self.lag = lag
        self.clock = clock
        self.every_s = every_s
        self.member = f"{socket.gethostname()}-{os.getpid()}"

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.beat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.every_s)

    async def beat(self) -> None:
        try:
            lag = await asyncio.to_thread(self.lag)
            report = ProcessorReport(self.member, lag, self.clock.now_us())
            await self.board.report_processor(self.group, report)
        except BackendError as exc:
            logger.warning("could not report lag group=%s: %s", self.group, exc)
