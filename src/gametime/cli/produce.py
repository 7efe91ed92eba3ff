"""`gametime produce`: send events from a file, URL or stdin to a running service,
or with --in-process straight through the configured backend (loading history into
the embedded backend, measuring ingest throughput)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial

import httpx
import typer

from gametime.cli.main import app, configure_logging, settings_or_exit
from gametime.cli.output import EXIT_REJECTED, emit_summary, fail
from gametime.cli.sending import (
    API_KEY,
    AS_JSON,
    BATCH_SIZE,
    QUIET,
    RETRIES,
    RETRY_DELAY,
    STRICT,
    CountingChunks,
    InputProgress,
    SendOptions,
    delivery_summary,
    send_all,
)
from gametime.delivery.event_source import EventSource
from gametime.settings import Settings

CHUNK_BYTES = 1 << 20


@app.command()
def produce(
    source: str = typer.Argument(
        ..., help="JSON-lines or JSON-array file, an http(s) URL, or - for stdin"
    ),
    url: str | None = typer.Option(
        None,
        help="Base URL of the service; by default the one GAMETIME_HOST and "
        "GAMETIME_PORT configure",
    ),
    in_process: bool = typer.Option(
        False,
        "--in-process",
        help="No server: ingest through the configured backend in this process",
    ),
    batch_size: int = BATCH_SIZE,
    api_key: str | None = API_KEY,
    retries: int = RETRIES,
    retry_delay: float = RETRY_DELAY,
    quiet: bool = QUIET,
    as_json: bool = AS_JSON,
    strict: bool = STRICT,
) -> None:
    """POST events in batches to a running service's /v1/events."""
    settings = settings_or_exit()
    configure_logging(settings)
    target = None if in_process else url or _configured_url(settings)
    options = SendOptions(target, api_key, batch_size, retries, retry_delay, quiet)
    with _open_input(source) as (chunks, total):
        counted = CountingChunks(chunks)
        events = EventSource(counted)
        progress = InputProgress(source, total, lambda: counted.read)
        report = send_all(events, options, settings, progress)
    summary: dict[str, object] = {
        "source": source,
        "service": options.target,
        "sent": report.sent,
        "batches": report.batches,
        **delivery_summary(report, events.unit),
    }
    emit_summary(summary, as_json)
    if strict and report.rejected:
        raise typer.Exit(EXIT_REJECTED)


def _configured_url(settings: Settings) -> str:
    """Where `gametime serve` listens with the same settings."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{settings.port}"


@contextmanager
def _open_input(source: str) -> Iterator[tuple[Iterable[bytes], int | None]]:
    """The input's chunks and its size in bytes when known."""
    if source == "-":
        yield iter(partial(sys.stdin.buffer.read, CHUNK_BYTES), b""), None
    elif source.startswith(("http://", "https://")):
        with _download(source) as response:
            size = response.headers.get("content-length")
            yield response.iter_bytes(CHUNK_BYTES), int(size) if size else None
    else:
        try:
            stream = open(source, "rb")  # noqa: SIM115  (closed below)
        except OSError as exc:
            fail(f"cannot read {source!r}: {exc.strerror or exc}")
        with stream:
            total = os.fstat(stream.fileno()).st_size
            yield iter(partial(stream.read, CHUNK_BYTES), b""), total


@contextmanager
def _download(source: str) -> Iterator[httpx.Response]:
    with httpx.Client(follow_redirects=True, timeout=60.0) as client:
        try:
            with client.stream("GET", source) as response:
                response.raise_for_status()
                yield response
        except httpx.HTTPError as exc:
            fail(f"cannot read {source!r}: {exc}")
