"""Where "now" comes from; injected so tests and replays can set the time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_us(self) -> int:
        """The current instant as microseconds since the Unix epoch (UTC)."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now_us(self) -> int:
        return time.time_ns() // 1_000


class FixedClock:
    """A clock that stays where it is set; for tests and deterministic tools."""

    def __init__(self, now_us: int) -> None:
        self._now_us = now_us

    def now_us(self) -> int:
        return self._now_us

    def set(self, now_us: int) -> None:
        self._now_us = now_us

    def advance(self, seconds: float) -> None:
        self._now_us += int(seconds * 1_000_000)
