"""`gametime rebuild` as a user runs it, on the embedded backend.

The same command on Redis and Cassandra is in tests/stack; `--exact` refusing
while processors report is checked here against an in-memory board.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gametime.cli import rebuild  # noqa: F401  (registers the command)
from gametime.cli.main import app
from gametime.ports import ProcessorReport
from gametime.services.health import HealthService
from tests.cli.test_cli import SESSION_OPTIONS, SESSIONS, invoke


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("GAMETIME_SQLITE_PATH", str(tmp_path / "cli.sqlite3"))
    monkeypatch.setenv("GAMETIME_LOG_LEVEL", "WARNING")
    return CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "a1"], "give --user with --date only"),
        (["--since", "2024-07-17", "--user", "a1"], "give --user with --date only"),
        (["--date", "yesterday"], "'yesterday' is not a date"),
        (["--date", "2024-02-30"], "'2024-02-30' is not a date"),
        (["--since", "9999-01-01"], "'9999-01-01' is after today"),
        ([], "give exactly one of --date, --since and --all"),
        (["--date", "2024-07-17", "--force"], "give --force with --exact only"),
    ],
)
def test_bad_arguments_are_named_with_their_value(
    runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["rebuild", *args])

    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_a_rebuild_of_an_intact_day_changes_nothing(
    runner: CliRunner, tmp_path: Path
) -> None:
    source = tmp_path / "sessions.csv"
    source.write_text(SESSIONS)
    assert (
        invoke(runner, "import", "sessions", str(source), *SESSION_OPTIONS).exit_code
        == 0
    )

    result = invoke(runner, "rebuild", "--date", "2024-07-17", "--exact")

    assert result.exit_code == 0, result.output
    assert "day=2024-07-17 users=3 events=" in result.output
    assert "changed=0" in result.output


def test_an_exact_rebuild_waits_for_processors_to_stop(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def running(_health: HealthService) -> list[ProcessorReport]:
        return [ProcessorReport("processor-1", 0, 0)]

    monkeypatch.setattr(HealthService, "running_processors", running)

    refused = invoke(runner, "rebuild", "--date", "2024-07-17", "--exact")
    assert refused.exit_code == 2
    assert "processor-1" in refused.output
    forced = invoke(runner, "rebuild", "--date", "2024-07-17", "--exact", "--force")
    assert forced.exit_code == 0, forced.output
    restoring = invoke(runner, "rebuild", "--date", "2024-07-17")
    assert restoring.exit_code == 0, restoring.output
