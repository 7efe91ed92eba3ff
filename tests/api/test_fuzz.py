"""Every route, fuzzed from the API's own OpenAPI document: no request gets a 5xx.

Schemathesis generates valid and invalid requests for each operation (paths,
queries, bodies, ids with any characters); whatever they hold, the answer must be
a 2xx or a 4xx, never a server error.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from gametime.api.app import create_app
from gametime.backend import open_backend
from gametime.domain.clock import SystemClock
from gametime.settings import load_settings
from tests.conftest import AUTH_HEADERS, TEST_KEYS

# Schemathesis reads the schema when the module is collected, so the app is built
# here; the fixture below closes it when the module is done.
_FOLDER = Path(tempfile.mkdtemp(prefix="gametime-fuzz-"))
_SETTINGS = load_settings(sqlite_path=_FOLDER / "fuzz.sqlite3", api_keys=TEST_KEYS)
_BACKEND = open_backend(_SETTINGS, SystemClock())
_APP = create_app(_SETTINGS, _BACKEND)
_APP.state.backend = _BACKEND  # the ASGI calls do not run the lifespan
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@schemathesis.serializer("application/x-ndjson")
def _json_lines(_context: object, value: object) -> bytes:
    """Generated text bodies for the JSON-lines media type, sent as they are."""
    return value.encode() if isinstance(value, str) else bytes(str(value), "utf-8")


@pytest.fixture(scope="module", autouse=True)
def _close_backend() -> Iterator[None]:
    yield
    asyncio.run(_BACKEND.close())
    shutil.rmtree(_FOLDER, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_request_gets_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=AUTH_HEADERS, checks=[not_a_server_error])
