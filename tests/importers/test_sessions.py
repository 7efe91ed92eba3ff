"""Sessions as events: which minutes a session covers, and rows that cannot be used."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

import pytest

from gametime.errors import InvalidInput
from gametime.importers.identity import Identity
from gametime.importers.records import SourceFormat, read_records
from gametime.importers.report import ImportReport
from gametime.importers.sessions import SessionImport, covered_minutes, session_events
from gametime.importers.source_time import TimeReader

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
MINUTE_US = 60_000_000
HEADER = "user_id,start_time,end_time\n"


def import_sessions(
    text: str,
    spec: SessionImport | None = None,
    source_format: SourceFormat = SourceFormat.CSV,
) -> tuple[list[dict[str, object]], ImportReport, list[int]]:
    spec = spec or SessionImport(Identity("user_id", game="g1"), TimeReader(HCM))
    report = ImportReport()
    records = read_records(io.StringIO(text), source_format, spec.columns())
    sourced = list(session_events(records, spec, report))
    events = [event.item for event in sourced if isinstance(event.item, dict)]
    assert len(events) == len(sourced)
    return events, report, [event.line for event in sourced]


def times(events: list[dict[str, object]]) -> list[object]:
    return [event["event_time"] for event in events]


@pytest.mark.parametrize(
    ("start_s", "end_s", "minutes"),
    [
        (30, 120, [0, 1]),  # 10:00:30 to 10:02:00: the end minute is excluded
        (30, 121, [0, 1, 2]),  # a second into 10:02 covers it
        (0, 60, [0]),
        (59, 61, [0, 1]),
        (45, 45, [0]),  # zero length: its start minute
        (45, None, [0]),  # no end: its start minute
    ],
)
def test_a_session_covers_each_minute_it_overlaps_for_a_positive_time(
    start_s: int, end_s: int | None, minutes: list[int]
) -> None:
    start_us = start_s * 1_000_000
    end_us = None if end_s is None else end_s * 1_000_000

    assert list(covered_minutes(start_us, end_us)) == minutes


def test_events_fall_at_the_start_then_at_each_minute_start() -> None:
    events, report, lines = import_sessions(
        HEADER + "u1,2024-07-17T10:00:30,2024-07-17T10:02:00\n"
    )

    assert times(events) == ["2024-07-17T10:00:30+07:00", "2024-07-17T10:01:00+07:00"]
    assert events[0] == {
        "user_id": "u1",
        "game_id": "g1",
        "event_time": "2024-07-17T10:00:30+07:00",
    }
    assert lines == [2, 2]
    assert (report.rows, report.events, report.invalid_rows) == (1, 2, 0)


def test_a_session_without_end_counts_its_start_minute_and_is_reported() -> None:
    events, report, _ = import_sessions(
        HEADER
        + "u1,2024-07-17T10:00:00,2024-07-17T10:03:00\n"
        + "u2,2024-07-17T11:05:10,\n"
    )

    assert times(events)[-1] == "2024-07-17T11:05:10+07:00"
    assert len(events) == 4
    assert report.open_sessions == 1
    assert report.open_session_lines == [3]


def test_a_zero_length_session_counts_its_start_minute_unreported() -> None:
    events, report, _ = import_sessions(
        HEADER + "u1,2024-07-17T10:00:00,2024-07-17T10:00:00\n"
    )

    assert times(events) == ["2024-07-17T10:00:00+07:00"]
    assert report.open_sessions == 0


def test_a_session_ending_before_it_starts_is_reported_and_skipped() -> None:
    events, report, _ = import_sessions(
        HEADER
        + "u1,2024-07-17T10:05:00,2024-07-17T10:00:00\n"
        + "u2,2024-07-17T10:00:00,2024-07-17T10:01:00\n"
    )

    assert [event["user_id"] for event in events] == ["u2"]
    assert report.invalid_rows == 1
    line, reason = report.invalid_examples[0]
    assert line == 2
    assert "end_time" in reason
    assert "'2024-07-17T10:00:00+07:00' is before the start" in reason


def test_a_session_longer_than_the_limit_is_reported_not_flooded() -> None:
    spec = SessionImport(
        Identity("user_id", game="g1"), TimeReader(HCM), max_minutes=60
    )

    events, report, _ = import_sessions(
        HEADER + "u1,2024-07-17T10:00:00,2024-07-17T11:00:01\n", spec
    )

    assert events == []
    assert "61 minutes, at most 60 accepted" in report.invalid_examples[0].reason


def test_unparsable_and_empty_times_name_the_column_and_the_value() -> None:
    events, report, _ = import_sessions(
        HEADER + "u1,yesterday,2024-07-17T10:00:00\nu2,,2024-07-17T10:00:00\n"
    )

    assert events == []
    reasons = [problem.reason for problem in report.invalid_examples]
    assert reasons[0].startswith("start_time: 'yesterday' is not an ISO-8601")
    assert reasons[1] == "start_time: is empty; every session needs a start"


def test_a_time_format_reads_naive_times_in_the_source_zone() -> None:
    spec = SessionImport(
        Identity("hashedEmail", game="minecraft", role="player"),
        TimeReader(ZoneInfo("UTC"), "%d/%m/%Y %H:%M"),
    )

    events, _, _ = import_sessions(
        "hashedEmail,start_time,end_time\nmc-1,29/06/2024 23:59,30/06/2024 00:01\n",
        spec,
    )

    assert times(events) == ["2024-06-29T23:59:00+00:00", "2024-06-30T00:00:00+00:00"]
    assert events[0]["role_id"] == "player"


def test_times_with_an_offset_keep_it() -> None:
    events, _, _ = import_sessions(
        HEADER + "u1,2024-07-17T03:00:00Z,2024-07-17T03:01:00Z\n"
    )

    assert times(events) == ["2024-07-17T03:00:00+00:00"]


def test_game_column_prefix_and_json_lines_input() -> None:
    spec = SessionImport(
        Identity("user", game_column="game", user_prefix="src:"),
        TimeReader(HCM),
        start_column="from",
        end_column="to",
    )
    text = (
        '{"user": 7, "game": "chess", "from": "2024-07-17T10:00:00", "to": null}\n'
        "\n"
        "not json\n"
        '["an", "array"]\n'
    )

    events, report, lines = import_sessions(text, spec, SourceFormat.JSONL)

    assert events == [
        {
            "user_id": "src:7",
            "game_id": "chess",
            "event_time": "2024-07-17T10:00:00+07:00",
        }
    ]
    assert lines == [1]
    assert report.open_session_lines == [1]
    assert [problem.line for problem in report.invalid_examples] == [3, 4]


def test_a_missing_header_column_names_the_column_and_the_header() -> None:
    with pytest.raises(InvalidInput) as raised:
        import_sessions("a,b\n1,2\n")

    assert str(raised.value) == "column: 'user_id' not in header ['a', 'b']"


def test_the_game_comes_from_exactly_one_of_column_and_constant() -> None:
    with pytest.raises(InvalidInput, match="exactly one of --game-column"):
        Identity("user_id")
    with pytest.raises(InvalidInput, match="exactly one of --game-column"):
        Identity("user_id", game_column="game", game="g1")
