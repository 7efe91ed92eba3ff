"""Ingesting in this process, through the configured backend (no server needed)."""

from __future__ import annotations

import asyncio

from gametime.backend import Backend
from gametime.delivery.sink import BatchOutcome, Rejected


class BackendSink:
    """Runs the backend's async ingest on a private event loop, batch by batch."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.runner = asyncio.Runner()

    def send(self, items: list[object]) -> BatchOutcome:
        result = self.runner.run(self.backend.ingest.ingest_items(items))
        rejected = [Rejected(r.index, r.field, r.reason) for r in result.rejections]
        return BatchOutcome(result.accepted, rejected)

    def close(self) -> None:
        try:
            self.runner.run(self.backend.close())
        finally:
            self.runner.close()
