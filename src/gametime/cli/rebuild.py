"""`gametime rebuild`: recount a day's minutes from the raw events."""

from __future__ import annotations

import asyncio
from datetime import date

import typer

from gametime.backend import open_backend
from gametime.cli.main import app, configure_logging, settings_or_exit
from gametime.domain.calendar import check_day
from gametime.services.rebuild import Rebuilder, RebuildReport
from gametime.settings import Settings


@app.command()
def rebuild(
    day: str = typer.Option(..., "--date", help="Local day to recount, YYYY-MM-DD"),
    user: str | None = typer.Option(None, help="Only this user"),
) -> None:
    """Recompute a day's minute state from the raw events and report the changes."""
    try:
        parsed = check_day(date.fromisoformat(day))
    except ValueError as exc:
        raise typer.BadParameter(
            f"{day!r}: {exc}; give a date like 2024-07-17", param_hint="--date"
        ) from exc
    settings = settings_or_exit()
    configure_logging(settings)
    report = asyncio.run(_rebuild(settings, parsed, user))
    typer.echo(_summary(report))


async def _rebuild(settings: Settings, day: date, user: str | None) -> RebuildReport:
    backend = open_backend(settings)
    try:
        rebuilder = Rebuilder(backend.archive, backend.minutes, settings.calendar())
        return await rebuilder.rebuild(day, user)
    finally:
        await backend.close()


def _summary(report: RebuildReport) -> str:
    lines = [
        f"day={report.day} users={report.users} events={report.events} "
        f"changed={len(report.changed)}"
    ]
    for change in report.changed:
        lines.append(
            f"  {change.user_id!r}: total {change.before.total_minutes} -> "
            f"{change.after.total_minutes}, games {change.before.games} -> "
            f"{change.after.games}"
        )
    return "\n".join(lines)
