"""Cutting a stream of sourced events into batches and sending each to a sink."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from gametime.delivery.report import DeliveryReport, LineRejection
from gametime.delivery.sink import EventSink
from gametime.importers.report import SourcedEvent

logger = logging.getLogger(__name__)


def deliver(
    events: Iterable[SourcedEvent | LineRejection],
    sink: EventSink,
    batch_size: int,
    report: DeliveryReport,
    after_batch: Callable[[DeliveryReport], None] | None = None,
) -> DeliveryReport:
    """Send every event; a `LineRejection` in the stream is counted, not sent."""
    lines: list[int] = []
    items: list[object] = []
    for event in events:
        if isinstance(event, LineRejection):
            report.reject(event)
            continue
        lines.append(event.line)
        items.append(event.item)
        if len(items) >= batch_size:
            _send(lines, items, sink, report, after_batch)
            lines, items = [], []
    if items:
        _send(lines, items, sink, report, after_batch)
    return report


def _send(
    lines: list[int],
    items: list[object],
    sink: EventSink,
    report: DeliveryReport,
    after_batch: Callable[[DeliveryReport], None] | None,
) -> None:
    report.record(lines, sink.send(items))
    logger.debug("sent batch=%d events=%d", report.batches, len(items))
    if after_batch is not None:
        after_batch(report)
