"""Shared parameters and dependencies of the routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import AfterValidator

from gametime.backend import Backend
from gametime.domain.calendar import check_day
from gametime.domain.events import MAX_ID_LENGTH
from gametime.errors import InvalidInput


def get_backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


BackendDep = Annotated[Backend, Depends(get_backend)]

UserIdPath = Annotated[
    str, Path(min_length=1, max_length=MAX_ID_LENGTH, description="The user's id")
]
GameIdPath = Annotated[
    str, Path(min_length=1, max_length=MAX_ID_LENGTH, description="The game's id")
]
DayQuery = Annotated[
    date | None,
    Query(alias="date", description="Local day, YYYY-MM-DD; today when omitted"),
    AfterValidator(lambda day: None if day is None else check_day(day)),
]


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(int(declared), limit)

    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(size, limit)
        chunks.append(chunk)
    return b"".join(chunks)


class BodyTooLarge(InvalidInput):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            "body", f"is at least {size} bytes, at most {limit} bytes accepted"
        )
