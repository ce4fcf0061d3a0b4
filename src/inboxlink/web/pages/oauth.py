"""Where Google and Microsoft send the browser back after consent: /oauth/<provider>/callback."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from inboxlink.domain.enums import InboxKind, Provider
from inboxlink.errors import AppError, NotFound
from inboxlink.services import oauth_connect
from inboxlink.web.deps import Db, RuntimeDep, page_user
from inboxlink.web.pages.common import redirect, render

router = APIRouter()


@router.get("/oauth/{provider}/callback")
async def oauth_callback(
    request: Request,
    provider: str,
    db: Db,
    runtime: RuntimeDep,
    state: str = "",
    code: str = "",
    error: str = "",
    error_description: str = "",
) -> Response:
    if provider not in {p.value for p in oauth_connect.OAUTH_PROVIDERS}:
        raise NotFound("page")
    user = await page_user(request, db)
    callback = oauth_connect.Callback(
        Provider(provider), state[:200], code[:2000], error[:100], error_description[:500]
    )
    try:
        done = await oauth_connect.complete(runtime, callback, user.id if user else None)
    except AppError as failure:
        refused: dict[str, object] = {"user": user, "error": failure, "provider": provider}
        return render(request, "oauth_result.html", refused, status=failure.status)
    await runtime.scheduler.inbox_changed(done.inbox.id)
    if user is not None:  # P6/P7: back to the Email settings, where a dialog confirms it
        outcome = "reconnected" if done.reconnected else "connected"
        if done.inbox.kind == InboxKind.TEAM.value:  # T3: back to Inbox settings → Channels
            return redirect(f"/conversations/settings/channels?{outcome}={done.inbox.id}")
        return redirect(f"/settings/email?{outcome}={done.inbox.id}")
    # Completed through the API without a browser session: a page saying so.
    connected: dict[str, object] = {"user": None, "inbox": done.inbox, "provider": provider}
    return render(request, "oauth_result.html", connected)
