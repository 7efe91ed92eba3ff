"""`gametime sample`: today's sample play, loaded twice without change."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gametime.backend import open_backend
from gametime.cli import sample  # noqa: F401  (registers the command)
from gametime.cli.main import app
from gametime.cli.sample import SAMPLE_GAME, SAMPLE_USER
from gametime.settings import load_settings


def game_minutes_today(path: Path) -> tuple[int, int]:
    async def read() -> tuple[int, int]:
        backend = open_backend(load_settings(sqlite_path=path))
        try:
            played = await backend.playtime.game_playtime(SAMPLE_USER, SAMPLE_GAME)
            return played.game_minutes, played.total_minutes
        finally:
            await backend.close()

    return asyncio.run(read())


def test_sample_loads_recent_play_and_reloading_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "sample.sqlite3"
    monkeypatch.setenv("GAMETIME_SQLITE_PATH", str(path))
    runner = CliRunner()

    first = runner.invoke(app, ["sample", "--users", "5"])
    counted = game_minutes_today(path)
    second = runner.invoke(app, ["sample", "--users", "5"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "sample loaded" in first.output
    assert counted[0] >= 1
    assert counted[1] >= counted[0]
    assert game_minutes_today(path) == counted
