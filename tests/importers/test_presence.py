"""Presence sightings as events: one per row, at the time the user was seen."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

import pytest

from gametime.errors import InvalidInput
from gametime.importers.identity import Identity
from gametime.importers.presence import PresenceImport, presence_events
from gametime.importers.records import SourceFormat, read_records
from gametime.importers.report import ImportReport
from gametime.importers.source_time import TimeReader

TAIPEI = ZoneInfo("Asia/Taipei")
WOW_HEADER = "char, level, race, charclass, zone, guild, timestamp\n"
WOW = PresenceImport(
    Identity("char", game="wow", role_column="charclass", user_prefix="wowah:"),
    TimeReader(TAIPEI, "%m/%d/%y %H:%M:%S"),
    time_column="timestamp",
)


def import_presence(
    text: str, spec: PresenceImport = WOW
) -> tuple[list[object], ImportReport]:
    report = ImportReport()
    records = read_records(io.StringIO(text), SourceFormat.CSV, spec.columns())
    return [event.item for event in presence_events(records, spec, report)], report


def test_each_row_is_one_event_at_its_time_in_the_source_zone() -> None:
    events, report = import_presence(
        WOW_HEADER
        + "59425,1,Orc,Rogue,Orgrimmar,165,01/01/08 00:02:04\n"
        + "65494,9,Orc,Hunter,Durotar,-1,01/01/08 00:02:04\n"
    )

    assert events == [
        {
            "user_id": "wowah:59425",
            "role_id": "Rogue",
            "game_id": "wow",
            "event_time": "2008-01-01T00:02:04+08:00",
        },
        {
            "user_id": "wowah:65494",
            "role_id": "Hunter",
            "game_id": "wow",
            "event_time": "2008-01-01T00:02:04+08:00",
        },
    ]
    assert (report.rows, report.events, report.invalid_rows) == (2, 2, 0)


def test_header_names_are_stripped_of_surrounding_spaces() -> None:
    records = read_records(
        io.StringIO(WOW_HEADER + "1,2,3,4,5,6,7\n"), SourceFormat.CSV, []
    )

    assert list(next(records).fields) == [
        "char",
        "level",
        "race",
        "charclass",
        "zone",
        "guild",
        "timestamp",
    ]


def test_a_time_not_in_the_format_names_the_column_value_and_format() -> None:
    events, report = import_presence(
        WOW_HEADER + "1,1,Orc,Rogue,Z,1,2008-01-01 00:02:04\n"
    )

    assert events == []
    assert report.invalid_examples[0].reason == (
        "timestamp: '2008-01-01 00:02:04' is not a time in the format "
        "'%m/%d/%y %H:%M:%S'"
    )


def test_rows_missing_a_value_or_fields_are_reported_and_skipped() -> None:
    events, report = import_presence(
        WOW_HEADER
        + ",1,Orc,Rogue,Z,1,01/01/08 00:02:04\n"
        + "5,1,Orc\n"
        + "6,1,Orc,Rogue,Z,1,\n"
        + "7,1,Orc,Rogue,Z,1,01/01/08 00:03:00\n"
    )

    assert len(events) == 1
    assert [(p.line, p.reason) for p in report.invalid_examples] == [
        (2, "char: is empty; every row needs a value here"),
        (3, "has 3 fields, the header 7"),
        (4, "timestamp: is empty; every sighting needs a time"),
    ]


def test_a_missing_time_column_names_it_and_the_stripped_header() -> None:
    spec = PresenceImport(
        Identity("char", game="wow"), TimeReader(TAIPEI), time_column="seen"
    )

    with pytest.raises(InvalidInput) as raised:
        import_presence(WOW_HEADER, spec)

    assert str(raised.value) == (
        "column: 'seen' not in header ['char', 'level', 'race', 'charclass', "
        "'zone', 'guild', 'timestamp']"
    )


def test_an_empty_file_is_an_error_naming_the_missing_header() -> None:
    with pytest.raises(InvalidInput, match="empty; expected a CSV header"):
        import_presence("")


def test_a_role_constant_applies_to_every_row() -> None:
    spec = PresenceImport(
        Identity("u", game_column="g", role="spectator"),
        TimeReader(TAIPEI),
        time_column="t",
    )

    events, _ = import_presence("u,g,t\nann,chess,2008-01-01T00:00:00\n", spec)

    assert events == [
        {
            "user_id": "ann",
            "role_id": "spectator",
            "game_id": "chess",
            "event_time": "2008-01-01T00:00:00+08:00",
        }
    ]
