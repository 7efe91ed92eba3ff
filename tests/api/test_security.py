"""API keys, scopes and the per-key rate limit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gametime.api.app import create_app
from gametime.api.security import ApiKey, KeyRing, Scope, digest, local_key
from gametime.backend import Backend
from gametime.settings import Settings, load_settings

READER = "gt_reader-secret"
INGESTER = "gt_ingester-secret"
KEYS = [
    {"name": "reader", "sha256": digest(READER), "scopes": ["read"]},
    {"name": "ingester", "sha256": digest(INGESTER), "scopes": ["ingest"]},
]
EVENT = b'{"user_id":"u","game_id":"g","event_time":"2024-07-17T10:00:00+07:00"}'


@pytest.fixture
def client(settings: Settings, backend: Backend) -> Iterator[TestClient]:
    keyed = settings.model_copy(
        update={"api_keys": load_settings(api_keys=KEYS).api_keys}
    )
    with TestClient(create_app(keyed, backend)) as test_client:
        yield test_client


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/events"),
        ("GET", "/v1/users/u/playtime"),
        ("GET", "/v1/users/u/games/g/playtime"),
        ("GET", "/v1/users/u/games/g/allowance"),
        ("GET", "/v1/users/u/events"),
        ("GET", "/v1/users/u/profile"),
        ("PUT", "/v1/users/u/profile"),
        ("GET", "/total_playing_time/user_id=u"),
        ("GET", "/specific_playing_time/user_id=u&game_id=g"),
        ("GET", "/user_playing_time?user_id=u"),
    ],
)
def test_every_route_but_health_and_docs_needs_a_key(
    client: TestClient, method: str, path: str
) -> None:
    missing = client.request(method, path)
    wrong = client.request(method, path, headers=bearer("gt_not-a-key"))

    assert missing.status_code == 401
    assert wrong.status_code == 401
    assert missing.json() == {"detail": "unauthorized"}
    assert missing.headers["www-authenticate"] == "Bearer"


def test_health_and_docs_are_open(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200


def test_a_key_is_limited_to_its_scopes(client: TestClient) -> None:
    read = client.get("/v1/users/u/playtime", headers=bearer(READER))
    read_cannot_ingest = client.post(
        "/v1/events", content=EVENT, headers=bearer(READER)
    )
    ingest = client.post("/v1/events", content=EVENT, headers=bearer(INGESTER))
    ingest_cannot_read = client.get("/v1/users/u/playtime", headers=bearer(INGESTER))
    nobody_admin = client.put(
        "/v1/users/u/profile", json={"minor": True}, headers=bearer(READER)
    )

    assert read.status_code == 200
    assert ingest.status_code == 200
    assert read_cannot_ingest.status_code == 403
    assert ingest_cannot_read.status_code == 403
    assert nobody_admin.status_code == 403
    assert read_cannot_ingest.json() == {"detail": "forbidden"}


def test_the_key_may_come_as_x_api_key(client: TestClient) -> None:
    response = client.get("/v1/users/u/playtime", headers={"X-API-Key": READER})

    assert response.status_code == 200


def test_a_key_over_its_rate_is_told_to_wait() -> None:
    now = [100.0]
    key = ApiKey("k", digest("s"), frozenset(Scope))
    ring = KeyRing.of([key], rate_per_second=2)
    ring.clock = lambda: now[0]

    admitted = [ring.admit(key) for _ in range(5)]
    now[0] += 1.0
    after_a_second = [ring.admit(key) for _ in range(3)]

    assert admitted == [True, True, True, True, False]  # a burst of twice the rate
    assert after_a_second == [True, True, False]


def test_rate_limited_requests_get_429(settings: Settings, backend: Backend) -> None:
    keyed = settings.model_copy(
        update={
            "api_keys": load_settings(api_keys=KEYS).api_keys,
            "rate_limit_per_second": 1,
        }
    )
    with TestClient(create_app(keyed, backend), headers=bearer(READER)) as client:
        statuses = [client.get("/v1/users/u/playtime").status_code for _ in range(4)]

    assert statuses[:2] == [200, 200]
    assert 429 in statuses[2:]


def test_without_configured_keys_a_local_key_is_made_once(
    tmp_path: Path, backend: Backend
) -> None:
    settings = load_settings(
        sqlite_path=tmp_path / "db.sqlite3", local_key_path=tmp_path / "key"
    )
    with TestClient(create_app(settings, backend)) as client:
        secret = local_key(tmp_path / "key")
        allowed = client.get("/v1/users/u/playtime", headers=bearer(secret))
        refused = client.get("/v1/users/u/playtime")

    assert allowed.status_code == 200
    assert refused.status_code == 401
    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600
    assert local_key(tmp_path / "key") == secret


def test_keys_can_come_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(f'[{{"name": "f", "sha256": "{digest("x")}", "scopes": ["read"]}}]')

    keys = load_settings(api_keys_file=path).configured_api_keys()

    assert [key.name for key in keys] == ["f"]
