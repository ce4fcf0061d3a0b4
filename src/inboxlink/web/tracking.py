"""The public tracking endpoints that recipients' mail clients reach: no sign-in, no API.

``/t/o/<token>`` answers a 1x1 GIF and records an open; ``/t/c/<token>`` records a click and
redirects to the URL signed into the token. Any token that does not verify gets 404 and no
redirect, so the endpoints are neither an open redirect nor a way to probe emails.
"""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException

from inboxlink.tracking.events import record
from inboxlink.web.deps import RuntimeDep

router = APIRouter(prefix="/t", include_in_schema=False)

_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_PRIVATE = {"Cache-Control": "no-store, private", "Referrer-Policy": "no-referrer"}


@router.get("/o/{token}")
async def opened(token: str, request: Request, runtime: RuntimeDep) -> Response:
    if await record(runtime, token, "open", request.headers.get("user-agent", "")) is None:
        raise HTTPException(404)
    return Response(_GIF, media_type="image/gif", headers=_PRIVATE)


@router.get("/c/{token}")
async def clicked(token: str, request: Request, runtime: RuntimeDep) -> Response:
    target = await record(runtime, token, "click", request.headers.get("user-agent", ""))
    if target is None:
        raise HTTPException(404)
    return RedirectResponse(target.url, status_code=302, headers=_PRIVATE)
