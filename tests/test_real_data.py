"""Real play data imported with `gametime import`, checked against a count made here.

Two real files (see their SOURCE.md) go into a fresh SQLite through the CLI, in the
default zone Asia/Ho_Chi_Minh (UTC+7). The expected minutes are computed in this
file with csv, datetime and zoneinfo only, as sets of (user, local day, minute),
never with the package's own code, and every user-day is compared.

- PLAICraft sessions: times `dd/mm/yyyy HH:MM` in UTC, end exclusive (a session
  from 10:00 to 10:30 is 30 minutes); a row without end counts its start minute.
- WoWAH sightings: times `%m/%d/%y %H:%M:%S` in UTC+8 (Asia/Taipei); one event per
  row, so a user counts exactly the distinct minutes in which it was seen.

The data stays in /work/shared/data/real; the test skips when it is absent.
"""

from __future__ import annotations

import asyncio
import csv
import functools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from typer.testing import CliRunner

from gametime.backend import open_backend
from gametime.cli import import_presence, import_sessions  # noqa: F401
from gametime.cli.main import app
from gametime.settings import Settings, load_settings

REAL = Path(__file__).parents[1].parent / "shared" / "data" / "real"
SESSIONS_CSV = REAL / "plaicraft-sessions" / "sessions.csv"
WOWAH_CSV = REAL / "wowah" / "wowah_data_medium.csv"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
TAIPEI = ZoneInfo("Asia/Taipei")
MINUTE = timedelta(minutes=1)

pytestmark = pytest.mark.skipif(
    not (SESSIONS_CSV.is_file() and WOWAH_CSV.is_file()),
    reason=f"real data not found under {REAL} (see its README.md)",
)

UserDay = tuple[str, date]
Minutes = dict[UserDay, set[tuple[int, int]]]


@dataclass(frozen=True)
class Session:
    line: int
    user: str
    start: datetime
    end: datetime | None


@dataclass
class Imported:
    settings: Settings
    summaries: dict[str, dict[str, object]]
    served: dict[UserDay, tuple[int, dict[str, int]]]


# -- the independent count -----------------------------------------------------------


@functools.cache
def plaicraft_sessions() -> tuple[Session, ...]:
    with SESSIONS_CSV.open(newline="") as source:
        rows = list(csv.DictReader(source))
    found = []
    for line, row in enumerate(rows, start=2):
        start = datetime.strptime(row["start_time"], "%d/%m/%Y %H:%M")
        end = row["end_time"]
        found.append(
            Session(
                line,
                row["hashedEmail"],
                start.replace(tzinfo=UTC),
                datetime.strptime(end, "%d/%m/%Y %H:%M").replace(tzinfo=UTC)
                if end
                else None,
            )
        )
    return tuple(found)


def session_minutes(session: Session) -> Iterator[datetime]:
    """Each minute start from the start up to the end, exclusive; else the start."""
    if session.end is None or session.end == session.start:
        yield session.start
        return
    moment = session.start
    while moment < session.end:
        yield moment
        moment += MINUTE


def local_day(moment: datetime) -> date:
    return moment.astimezone(HCM).date()


def add(minutes: Minutes, user: str, moment: datetime) -> None:
    local = moment.astimezone(HCM)
    minutes[(user, local.date())].add((local.hour, local.minute))


@functools.cache
def plaicraft_minutes() -> Minutes:
    minutes: Minutes = defaultdict(set)
    for session in plaicraft_sessions():
        for moment in session_minutes(session):
            add(minutes, session.user, moment)
    return dict(minutes)


@functools.cache
def wowah_sightings() -> list[tuple[str, datetime]]:
    with WOWAH_CSV.open(newline="") as source:
        reader = csv.reader(source)
        header = [name.strip() for name in next(reader)]
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    return [
        (
            "wowah:" + row["char"],
            datetime.strptime(row["timestamp"], "%m/%d/%y %H:%M:%S").replace(
                tzinfo=TAIPEI
            ),
        )
        for row in rows
    ]


@functools.cache
def wowah_minutes() -> Minutes:
    minutes: Minutes = defaultdict(set)
    for user, seen in wowah_sightings():
        add(minutes, user, seen)
    return dict(minutes)


# -- the import through the CLI ------------------------------------------------------


def run_import(runner: CliRunner, *args: str) -> dict[str, object]:
    result = runner.invoke(app, ["import", *args, "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    summary: dict[str, object] = orjson.loads(result.stdout)
    return summary


def read_served(
    settings: Settings, keys: list[UserDay]
) -> dict[UserDay, tuple[int, dict[str, int]]]:
    async def read() -> dict[UserDay, tuple[int, dict[str, int]]]:
        backend = open_backend(settings)
        try:
            found = {}
            for user, day in keys:
                played = await backend.playtime.day_playtime(user, day)
                found[(user, day)] = (played.total_minutes, dict(played.games))
            return found
        finally:
            await backend.close()

    return asyncio.run(read())


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Imported:
    database = tmp_path_factory.mktemp("real") / "gametime.sqlite3"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GAMETIME_SQLITE_PATH", str(database))
        env.setenv("GAMETIME_LOG_LEVEL", "WARNING")
        env.delenv("GAMETIME_TIMEZONE", raising=False)
        runner = CliRunner()
        summaries = {
            "plaicraft": run_import(
                runner, "sessions", str(SESSIONS_CSV),
                "--user-column", "hashedEmail", "--game", "minecraft",
                "--role", "player", "--time-format", "%d/%m/%Y %H:%M",
                "--source-timezone", "UTC",
            ),
            "wowah": run_import(
                runner, "presence", str(WOWAH_CSV),
                "--user-column", "char", "--time-column", "timestamp",
                "--role-column", "charclass", "--game", "wow",
                "--time-format", "%m/%d/%y %H:%M:%S",
                "--source-timezone", "Asia/Taipei", "--user-prefix", "wowah:",
            ),
        }  # fmt: skip
        settings = load_settings()
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    keys = sorted({*plaicraft_minutes(), *wowah_minutes()})
    return Imported(settings, summaries, read_served(settings, keys))


# -- PLAICraft sessions --------------------------------------------------------------


def test_plaicraft_import_accepts_every_historical_event(imported: Imported) -> None:
    summary = imported.summaries["plaicraft"]

    # 1,533 closed sessions of 77,966 minutes in all, and 2 without end.
    assert summary["rows_read"] == 1_535
    assert summary["invalid_rows"] == 0
    assert summary["events_produced"] == 77_966 + 2
    assert summary["accepted"] == summary["events_produced"]
    assert summary["rejected"] == 0


def test_plaicraft_every_user_day_matches_the_independent_count(
    imported: Imported,
) -> None:
    expected = plaicraft_minutes()

    served = {key: imported.served[key][0] for key in expected}

    assert served == {key: len(minutes) for key, minutes in expected.items()}
    assert len(expected) > 500
    assert {user for user, _ in expected} == {s.user for s in plaicraft_sessions()}
    assert all(
        imported.served[key][1] == {"minecraft": imported.served[key][0]}
        for key in expected
    )


def test_plaicraft_overlapping_sessions_of_a_user_count_once(
    imported: Imported,
) -> None:
    sessions = plaicraft_sessions()
    by_user: defaultdict[str, list[Session]] = defaultdict(list)
    for session in sessions:
        if session.end is not None:
            by_user[session.user].append(session)
    overlapping = [
        (first, second)
        for user_sessions in by_user.values()
        for first in user_sessions
        for second in user_sessions
        if first.start < second.start < first.end  # type: ignore[operator]
    ]
    # SOURCE.md names the 2024-06-05 07:19-07:56 / 07:55-08:55 pair.
    assert len(overlapping) == 2
    for first, _ in overlapping:
        day = first.start.astimezone(HCM).date()
        same_day = [
            s for s in by_user[first.user] if s.start.astimezone(HCM).date() == day
        ]
        summed = sum(len(list(session_minutes(s))) for s in same_day)
        served = imported.served[(first.user, day)][0]
        assert served == len(plaicraft_minutes()[(first.user, day)])
        assert served < summed


def test_plaicraft_the_named_overlap_counts_96_minutes(imported: Imported) -> None:
    # 07:19-07:56 and 07:55-08:55 UTC: 37 + 60 minutes sharing 07:55.
    named = {
        datetime(2024, 6, 5, 7, 19, tzinfo=UTC),
        datetime(2024, 6, 5, 7, 55, tzinfo=UTC),
    }
    (user,) = {s.user for s in plaicraft_sessions() if s.start in named}
    day = local_day(min(named))
    others = [
        s
        for s in plaicraft_sessions()
        if s.user == user and local_day(s.start) == day and s.start not in named
    ]

    served = imported.served[(user, day)][0]

    assert served == 96 + sum(len(list(session_minutes(s))) for s in others)


def test_plaicraft_sessions_crossing_local_midnight_split_across_days(
    imported: Imported,
) -> None:
    closed = [(s, s.end) for s in plaicraft_sessions() if s.end is not None]
    by_end_date = [s for s, end in closed if local_day(s.start) != local_day(end)]
    crossing = [s for s, end in closed if local_day(s.start) != local_day(end - MINUTE)]
    expected = plaicraft_minutes()

    # SOURCE.md counts 35 by end date; one of them ends at 00:00 local exactly, so
    # with the end exclusive it has no minute in the next day.
    assert len(by_end_date) == 35
    assert len(crossing) == 34
    for session in crossing:
        first_day = local_day(session.start)
        for day in (first_day, first_day + timedelta(days=1)):
            key = (session.user, day)
            assert imported.served[key][0] == len(expected[key]) > 0


def test_plaicraft_a_session_ending_at_local_midnight_stays_in_its_day(
    imported: Imported,
) -> None:
    (session,) = [
        s
        for s in plaicraft_sessions()
        if s.end is not None and s.end.astimezone(HCM).time() == time(0, 0)
    ]
    next_day = local_day(session.start) + timedelta(days=1)
    expected = plaicraft_minutes()

    assert (0, 0) not in expected.get((session.user, next_day), set())
    assert imported.served[(session.user, next_day)][0] == len(
        expected.get((session.user, next_day), set())
    )


def test_plaicraft_rows_without_end_count_their_start_minute(
    imported: Imported,
) -> None:
    summary = imported.summaries["plaicraft"]
    open_sessions = [s for s in plaicraft_sessions() if s.end is None]
    expected = plaicraft_minutes()

    assert summary["sessions_without_end"] == 2
    assert summary["sessions_without_end_lines"] == [682, 1020]
    assert [s.line for s in open_sessions] == [682, 1020]
    for session in open_sessions:
        local = session.start.astimezone(HCM)
        key = (session.user, local.date())
        assert (local.hour, local.minute) in expected[key]
        assert imported.served[key][0] == len(expected[key])
        others = {
            (m.astimezone(HCM).hour, m.astimezone(HCM).minute)
            for s in plaicraft_sessions()
            if s.user == session.user and s is not session
            for m in session_minutes(s)
            if m.astimezone(HCM).date() == local.date()
        }
        # The start minute is the row's own, so without it the day would be short.
        assert imported.served[key][0] == len(others | {(local.hour, local.minute)})


# -- WoWAH sightings -----------------------------------------------------------------


def test_wowah_import_accepts_every_sighting(imported: Imported) -> None:
    summary = imported.summaries["wowah"]

    assert summary["rows_read"] == summary["accepted"] == 29_999
    assert summary["invalid_rows"] == summary["rejected"] == 0


def test_wowah_every_user_day_matches_the_independent_count(
    imported: Imported,
) -> None:
    expected = wowah_minutes()

    served = {key: imported.served[key][0] for key in expected}

    assert served == {key: len(minutes) for key, minutes in expected.items()}
    assert len({user for user, _ in expected}) == 1_991


def test_wowah_falls_on_two_local_days_in_utc_plus_7(imported: Imported) -> None:
    expected = wowah_minutes()
    users_by_day: defaultdict[date, set[str]] = defaultdict(set)
    for user, day in expected:
        users_by_day[day].add(user)
    both = sorted(users_by_day[date(2007, 12, 31)] & users_by_day[date(2008, 1, 1)])

    # SOURCE.md: the first hour (611 avatars) is 31 Dec in UTC+7, the rest 1 Jan.
    assert set(users_by_day) == {date(2007, 12, 31), date(2008, 1, 1)}
    assert len(users_by_day[date(2007, 12, 31)]) == 611
    assert both
    for user in both[:20]:
        for day in (date(2007, 12, 31), date(2008, 1, 1)):
            assert imported.served[(user, day)] == (
                len(expected[(user, day)]),
                {"wow": len(expected[(user, day)])},
            )


def test_wowah_two_sightings_in_one_minute_count_once(imported: Imported) -> None:
    rows: defaultdict[UserDay, int] = defaultdict(int)
    for user, seen in wowah_sightings():
        rows[(user, seen.astimezone(HCM).date())] += 1
    expected = wowah_minutes()
    doubled = [key for key, count in rows.items() if count > len(expected[key])]

    assert doubled
    for key in doubled:
        assert imported.served[key][0] == len(expected[key]) < rows[key]
