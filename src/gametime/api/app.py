"""Building the FastAPI application over a backend."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gametime import __version__
from gametime.api import events, playtime, profiles, reference
from gametime.api.dependencies import BackendDep, BodyTooLarge
from gametime.api.schemas import HealthOut
from gametime.api.security import keyring_from
from gametime.backend import Backend, open_backend
from gametime.domain.batch import TooManyEvents
from gametime.errors import BackendError, InvalidInput
from gametime.settings import Settings

logger = logging.getLogger(__name__)

PURGE_INTERVAL_S = 3_600


def create_app(settings: Settings, backend: Backend | None = None) -> FastAPI:
    """The API over `backend`, or over one opened from `settings` at start-up."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.backend = backend or open_backend(settings)
        await app.state.backend.health.mark_new_state()
        purger = asyncio.create_task(_purge_periodically(app.state.backend))
        try:
            yield
        finally:
            purger.cancel()
            if backend is None:
                await app.state.backend.close()

    app = FastAPI(
        title="gametime",
        version=__version__,
        description="Distinct play minutes per local day, and play allowances.",
        lifespan=lifespan,
    )
    app.state.keyring = keyring_from(settings)
    for router in (events.router, playtime.router, profiles.router, reference.router):
        app.include_router(router)
    app.add_api_route("/healthz", healthz, methods=["GET"], tags=["health"])
    _add_error_handlers(app)
    return app


async def healthz(backend: BackendDep) -> HealthOut:
    """ok, or degraded: processors behind or silent, or minute state lost."""
    health = await backend.health.check()
    return HealthOut(
        status="degraded" if health.degraded else "ok",
        backend=backend.settings.backend,
        problems=health.problems,
        lag=health.lag,
    )


async def _purge_periodically(backend: Backend) -> None:
    # Expired days are already invisible to reads; this only reclaims their space.
    while True:
        try:
            await backend.purge_expired()
        except BackendError:
            logger.exception("purge of expired minutes failed; retrying later")
        await asyncio.sleep(PURGE_INTERVAL_S)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc), "field": exc.field},
            status_code=_status_of(exc),
        )

    @app.exception_handler(BackendError)
    async def backend_failed(request: Request, exc: BackendError) -> JSONResponse:
        logger.error("backend failed path=%s error=%s", request.url.path, exc)
        return JSONResponse(
            {"detail": "the backend is unavailable; retry later"}, status_code=503
        )


def _status_of(exc: InvalidInput) -> int:
    if isinstance(exc, BodyTooLarge | TooManyEvents):
        return 413
    if exc.field == "body":
        return 400
    return 422
