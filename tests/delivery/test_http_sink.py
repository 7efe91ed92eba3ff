"""Posting batches over HTTP: the request, the answer, and when to retry."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson
import pytest

from gametime.delivery.http_sink import HttpSink
from gametime.delivery.sink import BatchOutcome, Rejected
from gametime.errors import BackendError, BackendUnavailable
from gametime.retry import Backoff

ANSWER = {"accepted": 1, "rejected": [{"index": 1, "field": "game_id", "reason": "x"}]}


def sink_answering(
    *answers: httpx.Response | Exception,
    seen: list[httpx.Request] | None = None,
    slept: list[float] | None = None,
) -> HttpSink:
    pending = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        answer = pending.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    record: Callable[[float], None] = (
        slept.append if slept is not None else lambda _: None
    )
    return HttpSink(
        "http://service.test/",
        api_key="k3y",
        backoff=Backoff(initial_s=0.5, max_s=2.0, attempts=3),
        transport=httpx.MockTransport(handle),
        sleep=record,
    )


def test_a_batch_is_posted_as_a_json_array_with_the_api_key() -> None:
    seen: list[httpx.Request] = []
    sink = sink_answering(httpx.Response(200, json=ANSWER), seen=seen)

    outcome = sink.send([{"user_id": "u1"}, {"user_id": "u2"}])

    assert outcome == BatchOutcome(1, [Rejected(1, "game_id", "x")])
    request = seen[0]
    assert request.url == "http://service.test/v1/events"
    assert request.headers["authorization"] == "Bearer k3y"
    assert orjson.loads(request.content) == [{"user_id": "u1"}, {"user_id": "u2"}]


def test_unavailable_answers_and_lost_connections_are_retried_with_backoff() -> None:
    slept: list[float] = []
    sink = sink_answering(
        httpx.Response(503, text="busy"),
        httpx.ConnectError("refused"),
        httpx.Response(200, json=ANSWER),
        slept=slept,
    )

    assert sink.send([{}]).accepted == 1
    assert slept == [0.5, 1.0]


def test_retries_are_bounded_and_the_last_problem_is_named() -> None:
    sink = sink_answering(*[httpx.ConnectError("refused")] * 4)

    with pytest.raises(BackendUnavailable) as raised:
        sink.send([{}])

    assert "in 4 tries: ConnectError: refused" in str(raised.value)


@pytest.mark.parametrize(
    ("status", "hint"), [(401, "check --api-key"), (413, "smaller --batch-size")]
)
def test_a_refusal_that_would_repeat_stops_at_once_with_a_hint(
    status: int, hint: str
) -> None:
    seen: list[httpx.Request] = []
    sink = sink_answering(httpx.Response(status, text="no"), seen=seen)

    with pytest.raises(BackendError, match=hint):
        sink.send([{}])
    assert len(seen) == 1


def test_an_answer_of_the_wrong_shape_is_an_error_showing_it() -> None:
    sink = sink_answering(httpx.Response(200, json={"ok": True}))

    with pytest.raises(BackendError, match=r"answered '\{\"ok\":true\}'"):
        sink.send([{}])
