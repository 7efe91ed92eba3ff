"""Ingesting events and listing a user's raw events."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from gametime.api.dependencies import BackendDep, DayQuery, UserIdPath, read_body
from gametime.api.schemas import (
    EventPageOut,
    IngestResponse,
    RawEventOut,
    RejectedEvent,
)
from gametime.api.security import Scope, requires
from gametime.domain.event_time import instant_datetime

router = APIRouter(prefix="/v1", tags=["events"])


@router.post(
    "/events",
    response_model=IngestResponse,
    dependencies=requires(Scope.INGEST),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def ingest_events(request: Request, backend: BackendDep) -> IngestResponse:
    """Validate and record a batch; the rejected events are named with reasons."""
    body = await read_body(request, backend.settings.max_body_bytes)
    result = await backend.ingest.ingest_body(body)
    return IngestResponse(
        accepted=result.accepted,
        rejected=[
            RejectedEvent(index=r.index, field=r.field, reason=r.reason)
            for r in result.rejections
        ],
    )


@router.get(
    "/users/{user_id}/events",
    response_model=EventPageOut,
    dependencies=requires(Scope.READ),
)
async def list_events(
    user_id: UserIdPath,
    backend: BackendDep,
    day: DayQuery = None,
    cursor: str | None = Query(None, max_length=2048, description="From next_cursor"),
    limit: int = Query(100, ge=1, le=1000),
) -> EventPageOut:
    """A user's raw events of one local day, in time order, a page at a time."""
    day = day or backend.playtime.today()
    page = await backend.raw_events.list_events(user_id, day, cursor, limit)
    return EventPageOut(
        user_id=user_id,
        date=day,
        events=[
            RawEventOut(
                user_id=e.user_id,
                game_id=e.game_id,
                role_id=e.role_id,
                event_time=e.event_time,
                instant=instant_datetime(e.instant_us),
            )
            for e in page.events
        ],
        next_cursor=page.next_cursor,
    )
