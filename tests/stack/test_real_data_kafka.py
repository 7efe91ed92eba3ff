"""The real play data, imported through Kafka, gives the embedded backend's numbers.

The same two files and options as tests/test_real_data.py go through `gametime
import` on the distributed backend (Kafka, a processor, Redis and Cassandra); every
user-day must read exactly as it does after the embedded import.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from typer.testing import CliRunner

from gametime.backend import open_backend, open_stream_processor
from gametime.cli.main import app
from gametime.settings import Settings
from tests.stack.test_pipeline import drain
from tests.stack_services import settings_env
from tests.test_real_data import (  # noqa: F401  (imported is a fixture)
    SESSIONS_CSV,
    WOWAH_CSV,
    Imported,
    imported,
    pytestmark,
)

pytestmark = [pytestmark, pytest.mark.stack]

IMPORTS = [
    [
        "sessions", str(SESSIONS_CSV), "--user-column", "hashedEmail",
        "--game", "minecraft", "--role", "player",
        "--time-format", "%d/%m/%Y %H:%M", "--source-timezone", "UTC",
    ],
    [
        "presence", str(WOWAH_CSV), "--user-column", "char",
        "--time-column", "timestamp", "--role-column", "charclass", "--game", "wow",
        "--time-format", "%m/%d/%y %H:%M:%S", "--source-timezone", "Asia/Taipei",
        "--user-prefix", "wowah:",
    ],
]  # fmt: skip


def test_real_data_through_kafka_reads_as_the_embedded_import(
    kafka_settings: Settings, request: pytest.FixtureRequest
) -> None:
    embedded: Imported = request.getfixturevalue("imported")
    runner = CliRunner()
    accepted = 0
    for args in IMPORTS:
        result = runner.invoke(
            app,
            ["import", *args, "--quiet", "--json"],
            env=settings_env(kafka_settings),
        )
        assert result.exit_code == 0, result.output
        accepted += int(orjson.loads(result.stdout)["accepted"])

    async def read() -> dict[object, object]:
        backend = open_backend(kafka_settings)
        processor, closers = open_stream_processor(kafka_settings)
        try:
            await drain(processor, accepted, limit_s=300)
            found: dict[object, object] = {}
            for user, day in embedded.served:
                played = await backend.playtime.day_playtime(user, day)
                found[(user, day)] = (played.total_minutes, dict(played.games))
            return found
        finally:
            await backend.close()
            for close in reversed(closers):
                await close()

    assert accepted == 77_968 + 29_999
    assert asyncio.run(read()) == embedded.served
