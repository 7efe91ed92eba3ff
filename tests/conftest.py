"""Fixtures shared by the whole suite."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gametime.api.security import digest
from gametime.backend import Backend, open_backend
from gametime.domain.clock import FixedClock
from gametime.settings import Settings, load_settings

pytest_plugins = ["tests.stack_services"]

# 2024-07-17 12:00 in Asia/Ho_Chi_Minh: a weekday well inside a local day.
NOON_2024_07_17 = datetime(2024, 7, 17, 5, 0, tzinfo=UTC)


def micros(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(micros(NOON_2024_07_17))


# A key with every scope, configured by its digest as an operator would.
TEST_KEY = "gt_test-key-for-the-suite"
TEST_KEYS = [
    {"name": "tests", "sha256": digest(TEST_KEY), "scopes": ["ingest", "read", "admin"]}
]
AUTH_HEADERS = {"Authorization": f"Bearer {TEST_KEY}"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(sqlite_path=tmp_path / "gametime.sqlite3", api_keys=TEST_KEYS)


@pytest.fixture
def backend(settings: Settings, clock: FixedClock) -> Iterator[Backend]:
    opened = open_backend(settings, clock)
    yield opened
    asyncio.run(opened.close())
