"""The FastAPI application: API, pages, static files, error shapes, and the worker lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from inboxlink import __version__
from inboxlink.errors import AppError
from inboxlink.jobs.holdings import Holdings
from inboxlink.ops.metrics import MEDIA_TYPE, exposition
from inboxlink.ops.server import database_ready
from inboxlink.runtime import Runtime
from inboxlink.store.db import unreachable
from inboxlink.web import api, pages, tracking
from inboxlink.web.pages.common import LoginRequired, login_redirect, render, render_error
from inboxlink.web.validation import invalid_request

log = logging.getLogger(__name__)

Lifespan = Callable[[Runtime, Holdings], Awaitable[Callable[[], Awaitable[None]]]]

_STATUS_CODES = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
}

DATABASE_DOWN = (
    "inboxlink cannot reach its database right now (it may be restarting), so nothing was read "
    "or changed. Try again in a few seconds; if this lasts, check that the database server runs."
)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/healthz", "/readyz")


async def _error_response(request: Request, status: int, body: dict[str, Any]) -> Response:
    if _wants_json(request):
        return JSONResponse(body, status_code=status)
    return await render_error(request, status, body["error"]["message"])


def create_app(runtime: Runtime, *, start_worker: Lifespan | None = None) -> FastAPI:
    """Build the app. ``start_worker`` (the in-process worker) runs for the app's lifetime."""
    holdings = Holdings()  # what the in-process worker watches, for /metrics

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = await start_worker(runtime, holdings) if start_worker else None
        try:
            yield
        finally:
            if stop is not None:
                await stop()
            await runtime.close()

    app = FastAPI(
        title="inboxlink",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.runtime = runtime

    app.add_exception_handler(LoginRequired, login_redirect)

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        return await _error_response(request, exc.status, exc.to_dict())

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        error = invalid_request(exc.errors())
        return await _error_response(request, error.status, error.to_dict())

    @app.exception_handler(OverflowError)
    async def number_too_large(request: Request, exc: OverflowError) -> Response:
        # An id beyond 64 bits reaches SQLite's driver as OverflowError (found by the API fuzz).
        message = "A number in the request is too large. Check the request."
        return await _error_response(
            request, 422, {"error": {"code": "invalid_request", "message": message}}
        )

    async def database_down(request: Request, exc: Exception) -> Response:
        """The database is restarting or unreachable: a 503 that says so, not a traceback.
        Any other failure of these types stays a 500 (re-raised)."""
        if not unreachable(exc):
            raise exc
        # The type only: a DBAPIError's text carries the statement and its parameters.
        log.warning(
            "%s %s: database unavailable (%s)", request.method, request.url.path, type(exc).__name__
        )
        error = AppError("database_unavailable", DATABASE_DOWN, status=503)
        headers = {"Retry-After": "5"}
        if _wants_json(request):
            return JSONResponse(error.to_dict(), status_code=503, headers=headers)
        # Not render_error: it reads the signed-in user from the database that is down.
        page = render(request, "error.html", {"status": 503, "message": DATABASE_DOWN}, status=503)
        page.headers.update(headers)
        return page

    for kind in (DBAPIError, OSError, TimeoutError):
        app.add_exception_handler(kind, database_down)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        message = str(exc.detail) if exc.status_code != 404 else "There is nothing at this address."
        return await _error_response(
            request, exc.status_code, {"error": {"code": code, "message": message}}
        )

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """The process answers (liveness)."""
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["health"])
    async def readyz() -> dict[str, str]:
        """The process can serve requests: its database answers (readiness)."""
        if not await database_ready(runtime):
            raise AppError("database_unavailable", DATABASE_DOWN, status=503)
        return {"status": "ready"}

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus metrics; in the embedded mode they include the in-process worker's."""
        return Response(await exposition(runtime, holdings), media_type=MEDIA_TYPE)

    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(tracking.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    return app
