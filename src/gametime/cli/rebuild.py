"""`gametime rebuild`: recount minutes from the raw events.

`--date D` recounts one local day (`--user U` for one user). `--all` recounts every
day of the retention period up to today and then marks the minute store whole
again, which ends the "state lost" degradation after the store lost its data;
`--since D` does the same from an older day, for history loaded long ago.

A rebuild adds the minutes the store is missing and removes none, so it is safe
while processors run; `--exact` also removes minutes without raw events, only for
when every processor is stopped (services/rebuild.py says why). After Redis lost
its data, see docs/reliability.md: restart the processors, then `--all`.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import typer

from gametime.backend import Backend, open_backend
from gametime.cli.main import app, configure_logging, settings_or_exit
from gametime.domain.calendar import check_day
from gametime.domain.clock import SystemClock
from gametime.services.rebuild import Rebuilder, RebuildReport
from gametime.settings import Settings


@app.command()
def rebuild(
    day: str | None = typer.Option(None, "--date", help="One local day, YYYY-MM-DD"),
    since: str | None = typer.Option(
        None,
        help="Every day from this one to today; then counts are whole again",
    ),
    every_day: bool = typer.Option(
        False,
        "--all",
        help="Every day of the retention period; ends the 'state lost' stale answers",
    ),
    user: str | None = typer.Option(None, help="Only this user (with --date)"),
    exact: bool = typer.Option(
        False,
        "--exact",
        help="Also remove minutes without raw events; run with processors stopped",
    ),
    force: bool = typer.Option(
        False, "--force", help="With --exact: run even while processors report"
    ),
) -> None:
    """Recount minutes from the raw events: add those missing (none removed
    without --exact) and report the changes."""
    settings = settings_or_exit()
    configure_logging(settings)
    if user is not None and day is None:
        raise typer.BadParameter("give --user with --date only", param_hint="--user")
    days, whole = _days(settings, day, since, every_day)
    if force and not exact:
        raise typer.BadParameter("give --force with --exact only", param_hint="--force")
    reports = asyncio.run(_rebuild(settings, days, user, whole, exact, force))
    for report in reports:
        typer.echo(_summary(report))


def _days(
    settings: Settings, day: str | None, since: str | None, every_day: bool
) -> tuple[list[date], bool]:
    """The days to recount, and whether they cover the whole state."""
    if sum((day is not None, since is not None, every_day)) != 1:
        raise typer.BadParameter("give exactly one of --date, --since and --all")
    today = settings.calendar().today(SystemClock().now_us())
    if day is not None:
        return [_parse(day, "--date")], False
    first = (
        _parse(since, "--since")
        if since is not None
        else today - timedelta(days=settings.retention_days)
    )
    if first > today:
        raise typer.BadParameter(
            f"{since!r} is after today ({today}) in {settings.timezone}",
            param_hint="--since",
        )
    return [first + timedelta(days=n) for n in range((today - first).days + 1)], True


def _parse(text: str, option: str) -> date:
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date; give one like 2024-07-17", param_hint=option
        ) from None
    try:
        return check_day(parsed)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r}: {exc}", param_hint=option) from exc


async def _rebuild(
    settings: Settings,
    days: list[date],
    user: str | None,
    whole: bool,
    exact: bool,
    force: bool,
) -> list[RebuildReport]:
    backend = open_backend(settings)
    try:
        if exact and not force:
            await _refuse_while_processing(backend)
        rebuilder = Rebuilder(backend.archive, backend.minutes, settings.calendar())
        reports = [await rebuilder.rebuild(day, user, exact) for day in days]
        if whole:
            await backend.health.restore_mark()
        return reports
    finally:
        await backend.close()


async def _refuse_while_processing(backend: Backend) -> None:
    """An exact rebuild would remove minutes whose raw events a running processor
    still holds (services/rebuild.py), so it waits for them to be stopped."""
    running = await backend.health.running_processors()
    if running:
        members = ", ".join(sorted(report.member for report in running))
        raise typer.BadParameter(
            f"{len(running)} processor(s) reported in the last "
            f"{backend.settings.stale_after_seconds:g} s ({members}); an exact "
            "rebuild would remove minutes they still hold. Stop them first, or "
            "give --force",
            param_hint="--exact",
        )


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
