"""The command-line tools, run as a user runs them, against real backends.

`produce` and `import --url` talk to the real API served by uvicorn on 127.0.0.1;
the in-process importers write to a fresh SQLite file under tmp_path.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import orjson
import pytest
import uvicorn
from typer.testing import CliRunner, Result

from gametime.api.app import create_app
from gametime.backend import open_backend
from gametime.cli import (  # noqa: F401  (registers the commands)
    generate,
    import_presence,
    import_sessions,
    produce,
)
from gametime.cli.main import app
from gametime.settings import Settings, load_settings
from tests.conftest import TEST_KEY, TEST_KEYS

SESSIONS = (
    "player,begin,finish\n"
    "ann,2024-07-17 10:00,2024-07-17 10:30\n"
    "ann,2024-07-17 10:20,2024-07-17 11:00\n"  # overlaps the one above
    "bob,2024-07-17 23:50,2024-07-18 00:10\n"  # crosses local midnight
    "cat,2024-07-17 09:00,\n"  # no end
    "dan,2024-07-17 09:00,not a time\n"
)
SESSION_OPTIONS = [
    "--user-column", "player", "--start-column", "begin", "--end-column", "finish",
    "--game", "chess", "--format", "csv", "-q", "--json",
]  # fmt: skip


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("GAMETIME_SQLITE_PATH", str(tmp_path / "cli.sqlite3"))
    monkeypatch.setenv("GAMETIME_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("GAMETIME_API_KEY", TEST_KEY)
    return CliRunner()


def invoke(runner: CliRunner, *args: str, stdin: bytes | None = None) -> Result:
    return runner.invoke(app, list(args), input=stdin)


def summary_of(result: Result) -> dict[str, object]:
    assert result.exit_code == 0, result.output
    found: dict[str, object] = orjson.loads(result.stdout)
    return found


def totals(settings: Settings, *keys: tuple[str, date]) -> list[int]:
    async def read() -> list[int]:
        backend = open_backend(settings)
        try:
            return [
                (await backend.playtime.day_playtime(user, day)).total_minutes
                for user, day in keys
            ]
        finally:
            await backend.close()

    return asyncio.run(read())


def event(user: str, minute: int) -> dict[str, str]:
    return {
        "user_id": user,
        "game_id": "g1",
        "event_time": f"2024-07-17T10:{minute:02d}:00+07:00",
    }


def jsonl(*items: object) -> bytes:
    return b"".join(orjson.dumps(item) + b"\n" for item in items)


# -- a running service ---------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    url: str
    settings: Settings


def serve_in_thread(server: uvicorn.Server, sock: socket.socket) -> threading.Thread:
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start within 10 s"
        time.sleep(0.02)
    return thread


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    settings = load_settings(
        sqlite_path=tmp_path / "served.sqlite3", api_keys=TEST_KEYS
    )
    config = uvicorn.Config(create_app(settings), log_level="warning")
    server = uvicorn.Server(config)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        thread = serve_in_thread(server, sock)
        try:
            yield Service(f"http://127.0.0.1:{sock.getsockname()[1]}", settings)
        finally:
            server.should_exit = True
            thread.join(10)


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def file_server(tmp_path: Path) -> Iterator[str]:
    """Serves tmp_path/www over HTTP on 127.0.0.1."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietFiles, directory=str(root))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()
            thread.join(10)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- generate ------------------------------------------------------------------------


def test_generate_writes_the_same_bytes_for_the_same_seed(
    runner: CliRunner, tmp_path: Path
) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    common = ["generate", "--users", "3", "--date", "2024-07-16", "--seed", "4"]

    assert invoke(runner, *common, "--out", str(first)).exit_code == 0
    result = invoke(runner, *common, "--out", str(second))

    assert first.read_bytes() == second.read_bytes()
    assert result.stderr.startswith("wrote ")
    assert len(first.read_bytes().splitlines()) > 1_000


def test_generate_writes_to_stdout_and_defaults_to_a_past_day(
    runner: CliRunner,
) -> None:
    result = invoke(runner, "generate", "--users", "2", "--duplicates", "0")

    times = [
        datetime.fromisoformat(orjson.loads(line)["event_time"])
        for line in result.stdout.splitlines()
    ]
    assert result.exit_code == 0
    assert times
    assert max(times).timestamp() < time.time()
    assert "warning" not in result.stderr


def test_generate_warns_when_the_day_reaches_into_the_future(
    runner: CliRunner, tmp_path: Path
) -> None:
    result = invoke(
        runner, "generate", "--users", "1", "--date", "2999-01-01",
        "--out", str(tmp_path / "future.jsonl"),
    )  # fmt: skip

    assert result.exit_code == 0
    assert "warning: 2999-01-01 ends in the future" in result.stderr


def test_generate_refuses_a_rate_out_of_range(runner: CliRunner) -> None:
    result = invoke(runner, "generate", "--duplicates", "2")

    assert result.exit_code == 2
    assert "--duplicates" in result.output


# -- import --------------------------------------------------------------------------


def test_import_sessions_counts_distinct_minutes_in_process(
    runner: CliRunner, tmp_path: Path
) -> None:
    source = tmp_path / "sessions.txt"
    source.write_text(SESSIONS)

    summary = summary_of(
        invoke(runner, "import", "sessions", str(source), *SESSION_OPTIONS)
    )

    assert summary["rows_read"] == 5
    assert summary["invalid_rows"] == 1
    assert summary["sessions_without_end"] == 1
    assert summary["sessions_without_end_lines"] == [5]
    assert summary["events_produced"] == summary["accepted"] == 30 + 40 + 20 + 1
    assert summary["first_invalid_rows"] == [
        {
            "line": 6,
            "reason": "finish: 'not a time' is not an ISO-8601 date and time such "
            "as 2024-07-17T10:15:00+07:00",
        }
    ]
    day, next_day = date(2024, 7, 17), date(2024, 7, 18)
    settings = load_settings()
    assert totals(
        settings, ("ann", day), ("bob", day), ("bob", next_day), ("cat", day)
    ) == [60, 10, 10, 1]


def test_import_prints_a_readable_summary(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "sessions.csv"
    source.write_text(SESSIONS)
    options = [option for option in SESSION_OPTIONS if option != "--json"]

    result = invoke(runner, "import", "sessions", str(source), *options)

    assert result.exit_code == 0, result.output
    assert "sessions without end lines: 5" in result.stdout
    assert "line 6: finish: 'not a time' is not" in result.stdout
    assert [line.split()[-1] for line in result.stdout.splitlines()[1:4]] == [
        "5", "1", "1"
    ]  # fmt: skip


def test_import_presence_counts_each_sighting_in_its_minute(
    runner: CliRunner, tmp_path: Path
) -> None:
    source = tmp_path / "seen.csv"
    source.write_text(
        "char, class, timestamp\n"
        "7,Mage,12/31/07 23:59:30\n"  # 22:59:30 in UTC+7
        "7,Mage,12/31/07 23:59:50\n"  # the same minute
        "7,Mage,01/01/08 01:00:10\n"  # 00:00:10 in UTC+7: the next local day
    )

    summary = summary_of(
        invoke(
            runner,
            "import",
            "presence",
            str(source),
            "--user-column",
            "char",
            "--time-column",
            "timestamp",
            "--role-column",
            "class",
            "--game",
            "wow",
            "--time-format",
            "%m/%d/%y %H:%M:%S",
            "--source-timezone",
            "Asia/Taipei",
            "--user-prefix",
            "w:",
            "-q",
            "--json",
        )
    )

    assert (summary["rows_read"], summary["accepted"]) == (3, 3)
    keys = [("w:7", date(2007, 12, 31)), ("w:7", date(2008, 1, 1))]
    assert totals(load_settings(), *keys) == [1, 1]


def test_import_names_a_missing_column_and_the_header(
    runner: CliRunner, tmp_path: Path
) -> None:
    source = tmp_path / "sessions.csv"
    source.write_text("a,b\n1,2\n")

    result = invoke(runner, "import", "sessions", str(source), "--game", "g")

    assert result.exit_code == 2
    assert f"cannot read {str(source)!r}: column: 'user_id' not in header" in (
        result.stderr
    )
    assert "['a', 'b']" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv", "--game", "g"], "cannot read 'missing.csv'"),
        (["{file}", "--game", "g", "--source-timezone", "Mars/Base"], "Mars/Base"),
        (["{file}"], "exactly one of --game-column COLUMN and --game GAME_ID"),
        (["{file}.txt", "--game", "g"], "give --format csv or --format jsonl"),
    ],
)
def test_import_exits_2_with_a_clear_message_on_unusable_input(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    source = tmp_path / "s.csv"
    source.write_text(SESSIONS)
    Path(f"{source}.txt").write_text(SESSIONS)
    filled = [arg.replace("{file}", str(source)) for arg in args]

    result = invoke(runner, "import", "sessions", *filled)

    assert result.exit_code == 2
    assert message in result.stderr


def test_import_strict_exits_3_when_a_row_was_not_counted(
    runner: CliRunner, tmp_path: Path
) -> None:
    source = tmp_path / "s.csv"
    source.write_text(SESSIONS)

    result = invoke(
        runner, "import", "sessions", str(source), *SESSION_OPTIONS, "--strict"
    )

    assert result.exit_code == 3


def test_import_sessions_to_a_running_service(
    runner: CliRunner, tmp_path: Path, service: Service
) -> None:
    source = tmp_path / "s.csv"
    source.write_text(SESSIONS)

    summary = summary_of(
        invoke(
            runner,
            "import",
            "sessions",
            str(source),
            *SESSION_OPTIONS,
            "--url",
            service.url,
        )
    )

    assert summary["accepted"] == 91
    assert totals(service.settings, ("ann", date(2024, 7, 17))) == [60]


# -- produce -------------------------------------------------------------------------


def test_produce_reports_rejections_by_their_line_in_the_file(
    runner: CliRunner, tmp_path: Path, service: Service
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(
        jsonl(event("u1", 0), event("u1", 1), event("u1", 1))
        + b"{not json\n"
        + jsonl({"user_id": "u1", "event_time": "2024-07-17T10:05:00"}, event("u2", 3))
    )

    summary = summary_of(
        invoke(
            runner,
            "produce",
            str(source),
            "--url",
            service.url,
            "--batch-size",
            "2",
            "--json",
            "-q",
        )
    )

    assert (summary["sent"], summary["accepted"], summary["rejected"]) == (5, 4, 2)
    assert summary["batches"] == 3
    first = summary["first_rejections"]
    assert isinstance(first, list)
    assert [(r["line"], r["field"]) for r in first] == [(4, "event"), (5, "game_id")]
    day = date(2024, 7, 17)
    assert totals(service.settings, ("u1", day), ("u2", day)) == [2, 1]


def test_produce_reads_a_json_array_and_numbers_its_items(
    runner: CliRunner, tmp_path: Path, service: Service
) -> None:
    source = tmp_path / "events.json"
    source.write_bytes(orjson.dumps([event("u1", 0), {"user_id": "u1"}]))

    summary = summary_of(
        invoke(runner, "produce", str(source), "--url", service.url, "--json")
    )

    assert summary["accepted"] == 1
    assert summary["first_rejections"] == [
        {"item": 2, "field": "game_id", "reason": "is required"}
    ]


def test_produce_streams_events_from_a_url(
    runner: CliRunner, tmp_path: Path, service: Service, file_server: str
) -> None:
    events = [event(f"u{n % 3}", n) for n in range(30)]
    (tmp_path / "www" / "day.jsonl").write_bytes(jsonl(*events))

    summary = summary_of(
        invoke(
            runner,
            "produce",
            f"{file_server}/day.jsonl",
            "--url",
            service.url,
            "--batch-size",
            "7",
            "--json",
        )
    )

    assert (summary["accepted"], summary["batches"]) == (30, 5)
    assert totals(service.settings, ("u0", date(2024, 7, 17))) == [10]


def test_produce_reads_stdin(runner: CliRunner, service: Service) -> None:
    result = invoke(
        runner, "produce", "-", "--url", service.url, "--json",
        stdin=jsonl(event("u1", 0), event("u1", 0)),
    )  # fmt: skip

    assert summary_of(result)["accepted"] == 2


def test_produce_exits_1_when_the_service_cannot_be_reached(
    runner: CliRunner, tmp_path: Path
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(jsonl(event("u1", 0)))
    url = f"http://127.0.0.1:{unused_port()}"

    result = invoke(
        runner, "produce", str(source), "--url", url, "--retries", "2",
        "--retry-delay", "0",
    )  # fmt: skip

    assert result.exit_code == 1
    assert f"could not deliver to {url}/v1/events in 3 tries" in result.stderr


def test_produce_exits_2_when_the_input_cannot_be_read(
    runner: CliRunner, tmp_path: Path, file_server: str
) -> None:
    missing = invoke(runner, "produce", str(tmp_path / "none.jsonl"))
    not_found = invoke(runner, "produce", f"{file_server}/none.jsonl")

    assert (missing.exit_code, not_found.exit_code) == (2, 2)
    assert "No such file or directory" in missing.stderr
    assert "404" in not_found.stderr


def test_a_generated_day_produced_to_the_service_counts_every_minute(
    runner: CliRunner, tmp_path: Path, service: Service
) -> None:
    day_file = tmp_path / "day.jsonl"
    invoke(
        runner, "generate", "--users", "4", "--date", "2024-07-16", "--seed", "9",
        "--cross-midnight", "0.5", "--out", str(day_file),
    )  # fmt: skip
    expected: dict[tuple[str, date], set[tuple[int, int]]] = {}
    for line in day_file.read_bytes().splitlines():
        item = orjson.loads(line)
        local = datetime.fromisoformat(item["event_time"])
        key = (item["user_id"], local.date())
        expected.setdefault(key, set()).add((local.hour, local.minute))

    summary = summary_of(
        invoke(runner, "produce", str(day_file), "--url", service.url, "--json")
    )

    assert summary["rejected"] == 0
    keys = sorted(expected)
    assert totals(service.settings, *keys) == [len(expected[key]) for key in keys]


def test_produce_sends_to_the_configured_port_by_default(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_bytes(jsonl(event("u1", 0)))
    port = unused_port()
    monkeypatch.setenv("GAMETIME_PORT", str(port))

    result = invoke(runner, "produce", str(source), "--retries", "0")

    assert result.exit_code == 1
    assert f"could not deliver to http://127.0.0.1:{port}/v1/events" in result.stderr
