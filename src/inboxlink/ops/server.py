"""The small HTTP server of a worker process (and of ``serve --ops-port``): health, readiness,
metrics and which inboxes this process watches. Bind it to a private address: it has no login.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from inboxlink.jobs.holdings import Holdings
from inboxlink.ops.metrics import MEDIA_TYPE, exposition
from inboxlink.runtime import Runtime

log = logging.getLogger(__name__)


async def database_ready(runtime: Runtime) -> bool:
    try:
        async with runtime.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception:  # any failure to reach the database means "not ready"
        log.warning("readiness: the database does not answer", exc_info=True)
        return False
    return True


def ops_app(runtime: Runtime, holdings: Holdings) -> Starlette:
    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        ready = await database_ready(runtime)
        return JSONResponse(
            {"status": "ready" if ready else "database_unavailable"},
            status_code=200 if ready else 503,
        )

    async def metrics(_request: Request) -> Response:
        return Response(await exposition(runtime, holdings), media_type=MEDIA_TYPE)

    async def status(_request: Request) -> Response:
        since = holdings.since()
        return JSONResponse(
            {
                "engine": runtime.settings.job_engine,
                "inboxes": sorted(since),
                "since": {str(inbox_id): taken for inbox_id, taken in sorted(since.items())},
            }
        )

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics),
            Route("/status", status),
        ]
    )


class _SideServer(uvicorn.Server):
    """Leaves SIGTERM to the worker, which hands its inboxes back before it exits."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_ops(runtime: Runtime, holdings: Holdings, host: str, port: int) -> None:
    """Run the ops server until cancelled."""
    config = uvicorn.Config(
        ops_app(runtime, holdings), host=host, port=port, log_level="warning", lifespan="off"
    )
    await _SideServer(config).serve()
