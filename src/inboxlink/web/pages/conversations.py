"""Conversations → Inbox → Inbox settings → Channels: the account's team inboxes (admins)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from inboxlink.domain.enums import InboxKind
from inboxlink.domain.permissions import can_manage_account_settings
from inboxlink.errors import Forbidden
from inboxlink.services.inboxes import visible_inboxes
from inboxlink.web.deps import Db
from inboxlink.web.pages.common import SignedIn, render

router = APIRouter()


@router.get("/conversations")
async def conversations(request: Request, page: SignedIn) -> Response:
    return render(request, "conversations.html", page.template_values(section="conversations"))


@router.get("/conversations/settings/channels")
async def channels(request: Request, page: SignedIn, db: Db) -> Response:
    if not can_manage_account_settings(page.actor):
        raise Forbidden("Only super admins and users with account access manage team channels.")
    channels = await visible_inboxes(db, page.actor, kind=InboxKind.TEAM)
    context = page.template_values(channels=channels, section="conversations")
    return render(request, "channels.html", context)
