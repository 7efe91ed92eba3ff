"""Totals of a delivery, with the first rejections traced to their source lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from gametime.delivery.sink import BatchOutcome

EXAMPLES_KEPT = 20


class LineRejection(NamedTuple):
    """An item not counted: `line` is its line (or item number) in the source."""

    line: int
    field: str
    reason: str


@dataclass
class DeliveryReport:
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    examples: list[LineRejection] = field(default_factory=list)

    def record(self, lines: list[int], outcome: BatchOutcome) -> None:
        """Add one batch's outcome; `lines[i]` is the source line of item i."""
        self.batches += 1
        self.sent += len(lines)
        self.accepted += outcome.accepted
        for rejected in outcome.rejected:
            index = rejected.index
            line = lines[index] if 0 <= index < len(lines) else 0
            self.reject(LineRejection(line, rejected.field, rejected.reason))

    def reject(self, rejection: LineRejection) -> None:
        self.rejected += 1
        if len(self.examples) < EXAMPLES_KEPT:
            self.examples.append(rejection)
