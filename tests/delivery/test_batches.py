"""Batching sourced events and tracing the service's rejections to source lines."""

from __future__ import annotations

from gametime.delivery.batches import deliver
from gametime.delivery.report import DeliveryReport, LineRejection
from gametime.delivery.sink import BatchOutcome, Rejected
from gametime.importers.report import SourcedEvent


class RejectsOdd:
    """A sink that rejects every item whose value is odd."""

    def __init__(self) -> None:
        self.batches: list[list[object]] = []

    def send(self, items: list[object]) -> BatchOutcome:
        self.batches.append(items)
        odd = [
            Rejected(i, "n", "odd")
            for i, item in enumerate(items)
            if item["n"] % 2  # type: ignore[index]
        ]
        return BatchOutcome(len(items) - len(odd), odd)

    def close(self) -> None:
        pass


def test_rejections_name_their_source_line_across_batches() -> None:
    sink = RejectsOdd()
    events = [SourcedEvent(10 + n, {"n": n}) for n in range(5)]
    report = DeliveryReport()

    deliver(events, sink, 2, report)

    assert [len(batch) for batch in sink.batches] == [2, 2, 1]
    assert (report.sent, report.accepted, report.rejected) == (5, 3, 2)
    assert report.examples == [
        LineRejection(11, "n", "odd"),
        LineRejection(13, "n", "odd"),
    ]


def test_rejections_made_while_reading_are_counted_but_not_sent() -> None:
    sink = RejectsOdd()
    events: list[SourcedEvent | LineRejection] = [
        SourcedEvent(1, {"n": 2}),
        LineRejection(2, "event", "not valid JSON"),
    ]
    report = DeliveryReport()
    progress: list[int] = []

    deliver(events, sink, 10, report, lambda done: progress.append(done.sent))

    assert sink.batches == [[{"n": 2}]]
    assert (report.sent, report.rejected) == (1, 1)
    assert progress == [1]
