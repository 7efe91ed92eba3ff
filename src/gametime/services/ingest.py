"""Ingesting a batch of events: validate, keep the rejected, publish the rest."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gametime.domain.batch import parse_items, split_body
from gametime.domain.events import EventParser, Rejection
from gametime.ports import EventPublisher, RejectionStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    rejections: list[Rejection]


class IngestService:
    def __init__(
        self,
        parser: EventParser,
        publisher: EventPublisher,
        rejections: RejectionStore,
        max_batch_events: int,
    ) -> None:
        self.parser = parser
        self.publisher = publisher
        self.rejections = rejections
        self.max_batch_events = max_batch_events

    async def ingest_body(self, body: bytes) -> IngestResult:
        """Ingest a JSON object, array or JSON-lines body.

        Raises InvalidInput when the body as a whole cannot be read.
        """
        return await self.ingest_items(split_body(body, self.max_batch_events))

    async def ingest_items(self, items: list[object]) -> IngestResult:
        now_us = self.parser.clock.now_us()
        batch = parse_items(items, self.parser, now_us)
        # Rejections are stored before the answer so that nothing is lost even when
        # the caller does not keep the response.
        if batch.rejections:
            await self.rejections.store_rejections(batch.rejections)
            logger.info("rejected events=%d of=%d", len(batch.rejections), len(items))
        await self.publisher.publish(batch.events)
        return IngestResult(accepted=len(batch.events), rejections=batch.rejections)
