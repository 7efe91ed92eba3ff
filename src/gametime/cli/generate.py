"""`gametime generate`: write a synthetic day of events as JSON lines."""

from __future__ import annotations

import sys
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import BinaryIO

import typer

from gametime.cli.main import app, configure_logging, settings_or_exit
from gametime.cli.output import fail, warn
from gametime.domain.clock import SystemClock
from gametime.errors import InvalidInput
from gametime.generator import (
    DaySpec,
    GenerationStats,
    generate,
    latest_past_day,
    reaches_future,
)


@app.command("generate")
def generate_command(
    users: int = typer.Option(100, min=1, help="Number of users"),
    games: int = typer.Option(5, min=1, help="Number of games"),
    day: datetime | None = typer.Option(
        None,
        "--date",
        formats=["%Y-%m-%d"],
        help="Local day in GAMETIME_TIMEZONE (default: the latest day entirely past)",
    ),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same bytes"),
    out: str = typer.Option("-", "--out", "-o", help="Output file, or - for stdout"),
    duplicates: float = typer.Option(
        0.001, min=0.0, max=1.0, help="Share of events sent twice"
    ),
    late: float = typer.Option(
        0.001, min=0.0, max=1.0, help="Share of events sent up to 5 min late"
    ),
    cross_midnight: float = typer.Option(
        0.1, min=0.0, max=1.0, help="Share of users playing past local midnight"
    ),
    mean_session_minutes: float = typer.Option(40.0, help="Mean session length"),
    max_sessions: int = typer.Option(4, min=1, help="Most sessions a user plays"),
) -> None:
    """Write a synthetic day of per-second heartbeats as JSON lines."""
    settings = settings_or_exit()
    configure_logging(settings)
    now_us = SystemClock().now_us()
    local_day = day.date() if day else latest_past_day(settings.zone, now_us)
    if reaches_future(local_day, settings.zone, now_us):
        warn(
            f"{local_day} ends in the future; the service rejects events more than "
            f"{settings.max_future_skew_seconds} s ahead of its clock"
        )
    try:
        spec = DaySpec(
            users=users,
            games=games,
            day=local_day,
            seed=seed,
            zone=settings.zone,
            duplicate_rate=duplicates,
            late_rate=late,
            cross_midnight_rate=cross_midnight,
            max_sessions=max_sessions,
            mean_session_minutes=mean_session_minutes,
        )
    except InvalidInput as exc:
        fail(str(exc))
    _write(spec, out)


def _write(spec: DaySpec, out: str) -> None:
    stats = GenerationStats()
    started = time.perf_counter()
    with _open(out) as stream:
        for chunk in generate(spec, stats):
            stream.write(chunk.encode())
    elapsed = time.perf_counter() - started
    first = datetime.fromtimestamp(stats.first_s, spec.zone).isoformat()
    last = datetime.fromtimestamp(stats.last_s, spec.zone).isoformat()
    typer.echo(
        f"wrote {stats.lines:,} events ({stats.duplicates:,} duplicates, "
        f"{stats.late:,} late) of {spec.users:,} users in {stats.sessions:,} "
        f"sessions ({stats.crossing_midnight:,} past midnight), {first} to {last}, "
        f"in {elapsed:.1f} s",
        err=True,
    )


def _open(out: str) -> AbstractContextManager[BinaryIO]:
    if out == "-":
        return nullcontext(sys.stdout.buffer)
    try:
        return open(out, "wb")
    except OSError as exc:
        fail(f"cannot write {out!r}: {exc}")
