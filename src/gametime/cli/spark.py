"""`gametime spark`: count the events topic with Spark Structured Streaming.

The same counts, raw events and dead letters as `gametime process`, from a Spark
query whose checkpoint (GAMETIME_SPARK_CHECKPOINT_DIR) takes the part of the
consumer group. SIGTERM or Ctrl+C stops the query; a micro-batch cut short runs
again on the next start, which changes nothing. See docs/spark.md.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING

import typer

from gametime.cli.main import app, configure_logging, settings_or_exit
from gametime.errors import ConfigurationError
from gametime.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)


@app.command()
def spark(
    available_now: bool = typer.Option(
        False,
        "--available-now",
        help="Process what the topic holds at the start, then stop",
    ),
) -> None:
    """Consume events from Kafka with Spark and keep per-day minutes in Redis."""
    # pyspark is an optional extra: only this command needs it.
    from pyspark.errors import StreamingQueryException

    from gametime.spark.job import run

    settings = settings_or_exit()
    configure_logging(settings)
    logging.getLogger("py4j").setLevel(logging.WARNING)  # a line per callback at INFO
    session = _session_or_exit(settings)
    stop = _stop_on_signals()
    try:
        stats = run(session, settings, stop, available_now)
    except StreamingQueryException as exc:
        logger.error("spark query failed: %s", exc)
        raise typer.Exit(1) from exc
    finally:
        session.stop()
    logger.info(
        "stopped batches=%d messages=%d events=%d dead_letters=%d",
        stats.batches,
        stats.messages,
        stats.events,
        stats.dead_letters,
    )


def _session_or_exit(settings: Settings) -> SparkSession:
    from gametime.spark.session import open_session

    try:
        return open_session(settings)
    except ConfigurationError as exc:
        typer.secho(f"configuration error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT; replaces pyspark's SIGINT handler, which
    would cancel the running jobs from inside the handler."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    return stop
