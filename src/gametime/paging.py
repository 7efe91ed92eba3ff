"""Opaque cursors for paged listings of raw events.

A cursor names the last event of a page by (instant, game, role); the next page
starts after it. It is hex-encoded JSON so that any id survives the round trip in a
query string.
"""

from __future__ import annotations

import orjson

from gametime.errors import InvalidInput

EventPosition = tuple[int, str, str]


def encode_cursor(instant_us: int, game_id: str, role_id: str | None) -> str:
    return orjson.dumps([instant_us, game_id, role_id or ""]).hex()


def decode_cursor(cursor: str) -> EventPosition:
    try:
        instant_us, game_id, role_id = orjson.loads(bytes.fromhex(cursor))
        return int(instant_us), str(game_id), str(role_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise InvalidInput("cursor", f"{cursor[:64]!r} is not a valid cursor") from exc
