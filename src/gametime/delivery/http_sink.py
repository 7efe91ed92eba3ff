"""Posting batches to a running service's `POST /v1/events`, retrying failures.

Ingestion is idempotent (a replayed event adds nothing), so a batch whose answer
was lost can simply be sent again. Only failures that may pass are retried: no
connection, a timeout, 429 and 5xx. Any other refusal (a bad key, a batch too large)
would fail again the same way, so it stops the delivery at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import httpx
import orjson

from gametime.delivery.sink import BatchOutcome, Rejected
from gametime.errors import BackendError, BackendUnavailable
from gametime.retry import Backoff

logger = logging.getLogger(__name__)

EVENTS_PATH = "/v1/events"
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_HINTS = {
    401: "check --api-key",
    403: "check --api-key",
    413: "try a smaller --batch-size",
}


class HttpSink:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        backoff: Backoff | None = None,
        timeout_s: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = base_url.rstrip("/") + EVENTS_PATH
        self.backoff = backoff or Backoff(initial_s=0.5, max_s=10.0, attempts=5)
        self.sleep = sleep
        headers = {"content-type": "application/json"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self.client = httpx.Client(
            headers=headers, timeout=timeout_s, transport=transport
        )

    def send(self, items: list[object]) -> BatchOutcome:
        body = orjson.dumps(items)
        delays = self.backoff.delays()
        tries = 1
        while True:
            outcome = self._attempt(body)
            if isinstance(outcome, BatchOutcome):
                return outcome
            delay = next(delays, None)
            if delay is None:
                raise BackendUnavailable(
                    f"could not deliver to {self.endpoint} in {tries} tries: {outcome}"
                )
            logger.warning(
                "POST %s failed (try %d), retrying in %.1f s: %s",
                self.endpoint,
                tries,
                delay,
                outcome,
            )
            self.sleep(delay)
            tries += 1

    def _attempt(self, body: bytes) -> BatchOutcome | str:
        """The outcome, or why a retry may help; raises when it cannot."""
        try:
            response = self.client.post(self.endpoint, content=body)
        except httpx.TransportError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.status_code in _RETRYABLE_STATUS:
            return f"HTTP {response.status_code}: {response.text[:200]}"
        if not response.is_success:
            hint = _HINTS.get(response.status_code, "the batch was not accepted")
            raise BackendError(
                f"{self.endpoint} refused the batch with HTTP "
                f"{response.status_code} ({hint}): {response.text[:300]}"
            )
        return _outcome(response, self.endpoint)

    def close(self) -> None:
        self.client.close()


def _outcome(response: httpx.Response, endpoint: str) -> BatchOutcome:
    try:
        answer = orjson.loads(response.content)
        rejected = [
            Rejected(int(r["index"]), str(r["field"]), str(r["reason"]))
            for r in answer.get("rejected", [])
        ]
        return BatchOutcome(int(answer["accepted"]), rejected)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BackendError(
            f"{endpoint} answered {response.text[:200]!r}; expected JSON "
            '{"accepted": int, "rejected": [{"index", "field", "reason"}]}'
        ) from exc
