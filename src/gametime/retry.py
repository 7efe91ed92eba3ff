"""Bounded exponential backoff, as a small policy object."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delays of `initial_s`, doubling up to `max_s`; `attempts` None means forever.

    Forever suits a stream processor, which must wait out an outage of its sinks
    without committing (and so without losing) anything.
    """

    initial_s: float = 0.2
    max_s: float = 5.0
    multiplier: float = 2.0
    attempts: int | None = 5

    def delays(self) -> Iterator[float]:
        delay = self.initial_s
        made = 0
        while self.attempts is None or made < self.attempts:
            yield delay
            delay = min(delay * self.multiplier, self.max_s)
            made += 1
