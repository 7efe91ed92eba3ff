"""Every route of the API, on the embedded backend with a fixed clock."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient

from gametime.adapters.sqlite import SqliteStore
from gametime.api.app import create_app
from gametime.backend import Backend
from gametime.domain.clock import FixedClock
from gametime.settings import Settings
from tests.conftest import AUTH_HEADERS


@pytest.fixture
def client(settings: Settings, backend: Backend) -> Iterator[TestClient]:
    app = create_app(settings, backend)
    with TestClient(app, headers=AUTH_HEADERS) as test_client:
        yield test_client


def event(user: str, game: str, time: str, role: str | None = "r1") -> dict[str, str]:
    found = {"user_id": user, "game_id": game, "event_time": time}
    if role is not None:
        found["role_id"] = role
    return found


def post(client: TestClient, events: object) -> dict[str, object]:
    response = client.post("/v1/events", content=orjson.dumps(events))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def minutes_of(user: str, game: str, start_minute: int, count: int) -> list[object]:
    return [
        event(user, game, f"2024-07-17T10:{minute:02d}:30+07:00")
        for minute in range(start_minute, start_minute + count)
    ]


def test_ingest_counts_accepted_and_names_rejected(client: TestClient) -> None:
    body = post(
        client,
        [
            event("u1", "g1", "2024-07-17T10:00:00+07:00"),
            event("u1", "g1", "not a time"),
            {"user_id": "u1", "event_time": "2024-07-17T10:00:00+07:00"},
        ],
    )

    assert body["accepted"] == 1
    assert body["rejected"] == [
        {
            "index": 1,
            "field": "event_time",
            "reason": "expected an ISO-8601 date and time such as "
            "2024-07-17T10:15:00+07:00 or integer epoch milliseconds, "
            "got 'not a time'",
        },
        {"index": 2, "field": "game_id", "reason": "is required"},
    ]


def test_ingest_accepts_json_lines_and_single_objects(client: TestClient) -> None:
    lines = (
        b"\n".join(orjson.dumps(e) for e in minutes_of("u1", "g1", 0, 3))
        + b"\n{broken\n"
    )
    response = client.post("/v1/events", content=lines)
    single = client.post(
        "/v1/events", content=orjson.dumps(event("u1", "g1", "2024-07-17 10:05:00"))
    )

    assert response.json()["accepted"] == 3
    assert response.json()["rejected"][0]["index"] == 3
    assert single.json() == {"accepted": 1, "rejected": []}


def test_rejected_events_are_stored_with_reason(
    client: TestClient, backend: Backend
) -> None:
    post(client, [event("u1", "g1", "2024-07-17T25:00:00")])

    assert isinstance(backend.rejections, SqliteStore)
    stored = asyncio.run(backend.rejections.list_rejections())
    assert stored[0][0] == "event_time"
    assert "2024-07-17T25:00:00" in stored[0][2]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"", 400, "body"),
        (b"[{broken", 400, "body"),
        (b"hello", 400, "body"),
    ],
)
def test_ingest_refuses_unreadable_bodies(
    client: TestClient, body: bytes, status: int, field: str
) -> None:
    response = client.post("/v1/events", content=body)

    assert response.status_code == status
    assert response.json()["field"] == field


def test_ingest_refuses_oversized_body_and_batch(
    settings: Settings, clock: FixedClock, tmp_path: object
) -> None:
    from gametime.backend import open_backend

    small = settings.model_copy(update={"max_body_bytes": 2048, "max_batch_events": 2})
    backend = open_backend(small, clock)
    with TestClient(create_app(small, backend), headers=AUTH_HEADERS) as client:
        too_big = client.post("/v1/events", content=b"[" + b" " * 4096 + b"]")
        too_many = client.post("/v1/events", content=orjson.dumps([{}] * 3))
    asyncio.run(backend.close())

    assert too_big.status_code == 413
    assert "at most 2048 bytes" in too_big.json()["detail"]
    assert too_many.status_code == 413
    assert "at most 2 accepted" in too_many.json()["detail"]


def test_day_playtime_counts_distinct_minutes_per_game_and_total(
    client: TestClient,
) -> None:
    post(client, minutes_of("u1", "g1", 0, 10) + minutes_of("u1", "g2", 5, 10))
    post(client, minutes_of("u1", "g1", 0, 10))  # a replay changes nothing

    body = client.get("/v1/users/u1/playtime", params={"date": "2024-07-17"}).json()

    assert body["total_minutes"] == 15
    assert body["games"] == {"g1": 10, "g2": 10}
    assert body["date"] == "2024-07-17"
    assert body["timezone"] == "Asia/Ho_Chi_Minh"
    assert body["window"] == {
        "start": "2024-07-17T00:00:00+07:00",
        "end": "2024-07-17T23:59:59+07:00",
    }
    assert body["minor"] is True
    assert body["limits"]["game_minutes"] == 60
    assert body["remaining_total_minutes"] == 105


def test_playtime_defaults_to_today_and_unknown_users_read_zero(
    client: TestClient,
) -> None:
    body = client.get("/v1/users/nobody/playtime").json()

    assert body["date"] == "2024-07-17"
    assert body["total_minutes"] == 0
    assert body["games"] == {}


def test_game_playtime_reports_game_and_total(client: TestClient) -> None:
    post(client, minutes_of("u1", "g1", 0, 4) + minutes_of("u1", "g2", 10, 3))

    body = client.get("/v1/users/u1/games/g2/playtime").json()

    assert body["game_minutes"] == 3
    assert body["total_minutes"] == 7
    assert body["remaining_game_minutes"] == 57
    assert body["remaining_total_minutes"] == 113


def test_allowance_refuses_a_minor_at_the_game_limit(client: TestClient) -> None:
    post(
        client,
        [
            event("u1", "g1", f"2024-07-17T{10 + m // 60}:{m % 60:02d}:00")
            for m in range(60)
        ],
    )

    body = client.get("/v1/users/u1/games/g1/allowance").json()
    other_game = client.get("/v1/users/u1/games/g2/allowance").json()

    assert body["allowed"] is False
    assert body["reason"] == "game_limit_reached"
    assert body["remaining_game_minutes"] == 0
    assert body["resets_at"] == "2024-07-18T00:00:00+07:00"
    assert other_game["allowed"] is True
    assert other_game["remaining_total_minutes"] == 60


def test_allowance_lets_an_adult_play_and_profiles_round_trip(
    client: TestClient,
) -> None:
    put = client.put("/v1/users/u1/profile", json={"birth_date": "2000-02-29"})
    got = client.get("/v1/users/u1/profile")
    body = client.get("/v1/users/u1/games/g1/allowance").json()

    assert put.status_code == 200
    assert got.json() == {"user_id": "u1", "birth_date": "2000-02-29", "minor": None}
    assert body["allowed"] is True
    assert body["reason"] == "not_a_minor"
    assert body["remaining_total_minutes"] is None


def test_profile_errors_name_the_problem(client: TestClient) -> None:
    missing = client.get("/v1/users/ghost/profile")
    both = client.put(
        "/v1/users/u1/profile", json={"birth_date": "2010-01-01", "minor": True}
    )
    bad_date = client.put("/v1/users/u1/profile", json={"birth_date": "2010-13-01"})

    assert missing.status_code == 404
    assert "'ghost'" in missing.json()["detail"]
    assert both.status_code == 422
    assert "exactly one of birth_date and minor" in both.json()["detail"]
    assert bad_date.status_code == 422
    assert bad_date.json()["detail"][0]["loc"] == ["body", "birth_date"]


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/v1/users/u1/playtime?date=2024-13-01", "date"),
        ("/v1/users/u1/playtime?date=yesterday", "date"),
        (f"/v1/users/{'x' * 129}/playtime", "user_id"),
        (f"/v1/users/u1/games/{'g' * 129}/allowance", "game_id"),
        (f"/user_playing_time?user_id={'x' * 129}", "user_id"),
        ("/user_playing_time", "user_id"),
        ("/v1/users/u1/events?limit=0", "limit"),
    ],
)
def test_bad_parameters_get_422_naming_the_parameter(
    client: TestClient, path: str, parameter: str
) -> None:
    response = client.get(path)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == parameter


def test_bad_cursor_is_named(client: TestClient) -> None:
    response = client.get("/v1/users/u1/events", params={"cursor": "zz"})

    assert response.status_code == 422
    assert response.json()["field"] == "cursor"


def test_reference_routes_answer_in_the_reference_shape(client: TestClient) -> None:
    post(client, minutes_of("u1", "g1", 0, 5) + minutes_of("u1", "g2", 0, 5))
    window = "2024-07-17T00:00:00+07:00 to 2024-07-17T23:59:59+07:00"

    total = client.get("/total_playing_time/user_id=u1").json()
    specific = client.get("/specific_playing_time/user_id=u1&game_id=g2").json()
    by_query = client.get("/user_playing_time?user_id=u1&game_id=g1").json()
    total_by_query = client.get("/user_playing_time?user_id=u1").json()

    assert total == {
        "user_id": "u1",
        "game_id": None,
        "playing_time_minutes": 5,
        "time_window": window,
    }
    assert specific["playing_time_minutes"] == 5
    assert specific["game_id"] == "g2"
    assert by_query["playing_time_minutes"] == 5
    assert total_by_query["playing_time_minutes"] == 5


def test_ids_with_special_characters_never_collide(client: TestClient) -> None:
    users = ["a:b", "a", "b", "a*", "{a}", "a b", "ä", "a%3Ab"]
    for index, user in enumerate(users):
        post(client, minutes_of(user, "g:1", 0, index + 1))

    for index, user in enumerate(users):
        body = client.get("/user_playing_time", params={"user_id": user}).json()
        assert body["playing_time_minutes"] == index + 1, user


def test_raw_events_are_listed_in_pages(client: TestClient) -> None:
    post(client, minutes_of("u1", "g1", 0, 5))
    post(client, minutes_of("u1", "g1", 0, 5))

    first = client.get("/v1/users/u1/events", params={"limit": 3}).json()
    second = client.get(
        "/v1/users/u1/events", params={"limit": 3, "cursor": first["next_cursor"]}
    ).json()

    assert [e["event_time"] for e in first["events"]] == [
        "2024-07-17T10:00:30+07:00",
        "2024-07-17T10:01:30+07:00",
        "2024-07-17T10:02:30+07:00",
    ]
    assert first["events"][0]["instant"] == "2024-07-17T03:00:30Z"
    assert len(second["events"]) == 2
    assert second["next_cursor"] is None


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {
        "status": "ok",
        "backend": "embedded",
        "problems": [],
        "lag": None,
    }
    paths = client.get("/openapi.json").json()["paths"]
    assert "/v1/users/{user_id}/games/{game_id}/allowance" in paths


@pytest.mark.parametrize("day", ["0001-01-01", "1969-12-31", "9999-12-31"])
def test_days_outside_the_kept_range_get_422(client: TestClient, day: str) -> None:
    response = client.get("/v1/users/u1/playtime", params={"date": day})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "date"]
    assert "outside the days kept" in response.json()["detail"][0]["msg"]
