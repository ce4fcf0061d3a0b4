"""Settings → General → Email: the user's personal inboxes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from inboxlink.domain.enums import InboxKind
from inboxlink.services.inboxes import aliases_of, visible_inboxes
from inboxlink.web.deps import Db
from inboxlink.web.pages.common import SignedIn, render

router = APIRouter()


@router.get("/settings/email")
async def email_settings(request: Request, page: SignedIn, db: Db) -> Response:
    inboxes = await visible_inboxes(db, page.actor, kind=InboxKind.PERSONAL)
    aliases = await aliases_of(db, [i.id for i in inboxes])
    context = page.template_values(inboxes=inboxes, aliases=aliases, section="settings")
    return render(request, "settings_email.html", context)
