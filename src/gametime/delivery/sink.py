"""Where batches of events go, and what the service answered for one batch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Rejected:
    """A rejected item; `index` is its position in the batch that was sent."""

    index: int
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    accepted: int
    rejected: list[Rejected]


class EventSink(Protocol):
    def send(self, items: list[object]) -> BatchOutcome:
        """Ingest one batch; raises BackendError when it cannot be delivered."""
        ...

    def close(self) -> None: ...
