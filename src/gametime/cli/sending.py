"""Options and plumbing shared by the tools that send events to the service."""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import httpx
import typer

from gametime.backend import open_backend
from gametime.cli.output import EXIT_DELIVERY_FAILED, fail, progress_bar
from gametime.delivery.backend_sink import BackendSink
from gametime.delivery.batches import deliver
from gametime.delivery.http_sink import HttpSink
from gametime.delivery.report import DeliveryReport, LineRejection
from gametime.delivery.sink import EventSink
from gametime.errors import BackendError, InvalidInput
from gametime.importers.report import SourcedEvent
from gametime.retry import Backoff
from gametime.settings import Settings

logger = logging.getLogger(__name__)

MAX_BATCH_SIZE = 50_000
MAX_RETRY_DELAY_S = 10.0

# Options every sending tool takes; declared once so they read the same everywhere.
API_KEY = typer.Option(
    None, help="Sent as 'Authorization: Bearer KEY' [GAMETIME_API_KEY]"
)
BATCH_SIZE = typer.Option(5_000, min=1, max=MAX_BATCH_SIZE, help="Events per POST")
RETRIES = typer.Option(5, min=0, help="Tries after a failed POST")
RETRY_DELAY = typer.Option(
    0.5, min=0.0, help="Seconds before the first retry; doubles each time"
)
QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar")
AS_JSON = typer.Option(False, "--json", help="Print the summary as JSON")
STRICT = typer.Option(
    False, "--strict", help="Exit with 3 when any row or event could not be counted"
)


@dataclass(frozen=True, slots=True)
class SendOptions:
    """Where events go: a running service at `url`, or the backend in process."""

    url: str | None
    api_key: str | None
    batch_size: int
    retries: int
    retry_delay_s: float
    quiet: bool

    def open_sink(self, settings: Settings) -> EventSink:
        if self.url is None:
            return BackendSink(open_backend(settings))
        backoff = Backoff(
            initial_s=self.retry_delay_s, max_s=MAX_RETRY_DELAY_S, attempts=self.retries
        )
        configured = settings.api_key
        api_key = self.api_key or (
            configured.get_secret_value() if configured else None
        )
        return HttpSink(self.url, api_key, backoff)

    @property
    def target(self) -> str:
        return self.url or "in-process backend"


class CountingChunks:
    """Passes chunks through and counts their bytes, for the progress bar."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = chunks
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.read += len(chunk)
            yield chunk


@dataclass
class InputProgress:
    """The input being read: its name for messages, size and bytes read so far."""

    name: str
    total_bytes: int | None
    bytes_read: Callable[[], int]


def send_all(
    events: Iterable[SourcedEvent | LineRejection],
    options: SendOptions,
    settings: Settings,
    source: InputProgress,
) -> DeliveryReport:
    """Deliver every event with a progress bar.

    Exits with 1 when the service fails, with 2 when the input cannot be read.
    """
    report = DeliveryReport()
    try:
        sink = options.open_sink(settings)
    except (BackendError, OSError) as exc:
        fail(f"cannot open {options.target}: {exc}", EXIT_DELIVERY_FAILED)
    try:
        _run(events, sink, options, source, report)
    except BackendError as exc:
        delivered = f"delivered so far: {report.accepted:,} accepted"
        fail(f"{exc} ({delivered})", EXIT_DELIVERY_FAILED)
    except (InvalidInput, OSError, UnicodeError, csv.Error, httpx.HTTPError) as exc:
        fail(f"cannot read {source.name!r}: {exc}")
    finally:
        sink.close()
    return report


def _run(
    events: Iterable[SourcedEvent | LineRejection],
    sink: EventSink,
    options: SendOptions,
    source: InputProgress,
    report: DeliveryReport,
) -> None:
    with progress_bar(options.quiet) as bar:
        task = bar.add_task(f"to {options.target}", total=source.total_bytes)

        def show(done: DeliveryReport) -> None:
            text = f"accepted {done.accepted:,} rejected {done.rejected:,}"
            bar.update(task, completed=source.bytes_read(), description=text)

        deliver(events, sink, options.batch_size, report, show)
        bar.update(task, completed=source.bytes_read())


def delivery_summary(report: DeliveryReport, unit: str) -> dict[str, object]:
    return {
        "accepted": report.accepted,
        "rejected": report.rejected,
        "first_rejections": [
            {unit: r.line, "field": r.field, "reason": r.reason}
            for r in report.examples
        ],
    }
