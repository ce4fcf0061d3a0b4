"""The in-app notification list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from inboxlink.notifications.inbox import list_notifications, mark_all_read
from inboxlink.web.deps import Db
from inboxlink.web.pages.common import SignedIn, check_csrf, redirect, render

router = APIRouter()


@router.get("/notifications")
async def notifications(request: Request, page: SignedIn, db: Db) -> Response:
    notes = await list_notifications(db, page.actor)
    context = page.template_values(notifications=notes, section="notifications")
    return render(request, "notifications.html", context)


@router.post("/notifications/read")
async def read_all(
    request: Request, page: SignedIn, db: Db, csrf_token: Annotated[str, Form()]
) -> Response:
    check_csrf(request, csrf_token)
    await mark_all_read(db, page.actor)
    return redirect("/notifications")
