"""`gametime ingest`: load a file of events through the backend, in this process.

The same validation and processing as `POST /v1/events`, without HTTP: for loading
history into the embedded backend, and for measuring ingest throughput.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from itertools import chain, islice
from pathlib import Path
from typing import BinaryIO

import typer

from gametime.backend import open_backend
from gametime.cli.main import app, configure_logging, settings_or_exit
from gametime.domain.batch import split_body


@app.command()
def ingest(
    source: str = typer.Argument(..., help="JSON lines or a JSON array; - for stdin"),
    batch_size: int = typer.Option(20_000, min=1, help="Events per batch"),
) -> None:
    """Ingest events from a file into the configured backend."""
    settings = settings_or_exit()
    configure_logging(settings)
    accepted, rejected, seconds = asyncio.run(_ingest(source, batch_size))
    rate = (accepted + rejected) / seconds if seconds else 0.0
    typer.echo(
        f"accepted={accepted} rejected={rejected} seconds={seconds:.2f} "
        f"events_per_second={rate:,.0f}"
    )


async def _ingest(source: str, batch_size: int) -> tuple[int, int, float]:
    backend = open_backend(settings_or_exit())
    accepted = rejected = 0
    started = time.perf_counter()
    try:
        with _open(source) as stream:
            for items in _batches(stream, batch_size):
                result = await backend.ingest.ingest_items(items)
                accepted += result.accepted
                rejected += len(result.rejections)
    finally:
        await backend.close()
    return accepted, rejected, time.perf_counter() - started


def _open(source: str) -> BinaryIO:
    if source == "-":
        return sys.stdin.buffer
    path = Path(source)
    if not path.is_file():
        raise typer.BadParameter(f"no file at {source!r}", param_hint="SOURCE")
    return path.open("rb")


def _batches(stream: BinaryIO, size: int) -> Iterator[list[object]]:
    """Decoded items, `size` at a time; a JSON array file is read whole."""
    head = stream.read(1)
    if head == b"[":
        items = split_body(head + stream.read(), max_items=sys.maxsize)
        for start in range(0, len(items), size):
            yield items[start : start + size]
        return
    lines = chain([head + stream.readline()], stream) if head else iter(())
    while chunk := list(islice(lines, size)):
        yield split_body(b"".join(chunk), max_items=size)
