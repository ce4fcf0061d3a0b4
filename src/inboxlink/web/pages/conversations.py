"""Conversations → Inbox → Inbox settings → Channels (T3, D2): the account's team inboxes.

Admins connect a team address here — destination, address, the provider recommendation, the
disclosure (§6), then the provider's consent — and delete channels (D3 notifications).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from inboxlink.conversations.channels import delete_channel, require_admin, visible_channels
from inboxlink.conversations.connect import start_team_connect, team_provider
from inboxlink.conversations.model import DESTINATION_NAMES, Destination
from inboxlink.discovery.recommend import recommend
from inboxlink.domain.enums import Provider
from inboxlink.errors import AppError
from inboxlink.notifications.inbox import unread_count
from inboxlink.services.users import check_email
from inboxlink.web.deps import Db, RuntimeDep
from inboxlink.web.pages.common import PageContext, SignedIn, check_csrf, redirect, render
from inboxlink.web.pages.connect import DISCLOSURES, RECOMMEND_LABELS

router = APIRouter()
CHANNELS = "/conversations/settings/channels"
PROVIDER_CHOICES = {"gmail": "Gmail", "microsoft": "Microsoft Outlook", "imap": "Other"}
FormStr = Annotated[str, Form(max_length=320)]


async def _page(
    request: Request, page: PageContext, db: Db, *, status: int = 200, **extra: object
) -> Response:
    require_admin(page.actor)
    channels = await visible_channels(db, page.actor)
    context = page.template_values(
        section="conversations",
        channels=channels,
        destinations=DESTINATION_NAMES,
        provider_choices=PROVIDER_CHOICES,
        **extra,
    )
    return render(request, "channels.html", context, status=status)


@router.get(CHANNELS)
async def channels(
    request: Request, page: SignedIn, db: Db, connected: int = 0, confirm: str = ""
) -> Response:
    return await _page(request, page, db, connected=connected, confirm=confirm[:40])


@router.post(f"{CHANNELS}/connect")
async def connect_step(
    request: Request,
    page: SignedIn,
    db: Db,
    runtime: RuntimeDep,
    csrf_token: FormStr,
    email: FormStr,
    destination: FormStr = Destination.CONVERSATIONS.value,
    provider: FormStr = "",
    go: FormStr = "",
) -> Response:
    """Recommendation, then disclosure (P5), then ``go=consent`` sends the browser away."""
    check_csrf(request, csrf_token)
    require_admin(page.actor)
    chosen = (
        Destination(destination) if destination in set(Destination) else Destination.CONVERSATIONS
    )
    flow = {"email": email.strip(), "destination": chosen.value, "provider": provider}
    try:
        address = check_email(email)
        if go == "consent":
            url = await start_team_connect(
                runtime, page.actor, address, chosen, provider or None, via_api=False
            )
            return redirect(url)
        picked = team_provider(
            address, await recommend(address, runtime.resolver), provider or None
        )
    except AppError as error:
        ask = error.code == "provider_required"
        return await _page(
            request, page, db, flow=flow, ask_provider=ask, error=None if ask else error,
            status=200 if ask else error.status,
        )  # fmt: skip
    key: Literal["gmail", "microsoft"] = "gmail" if picked is Provider.GMAIL else "microsoft"
    flow["provider"] = key
    return await _page(
        request,
        page,
        db,
        flow=flow,
        disclosure=DISCLOSURES[key],
        recommend_label=RECOMMEND_LABELS[key],
    )


@router.post(f"{CHANNELS}/{{inbox_id}}/delete")
async def delete(
    request: Request,
    inbox_id: int,
    page: SignedIn,
    db: Db,
    runtime: RuntimeDep,
    csrf_token: FormStr,
) -> Response:
    """D2: Delete → Yes, delete; then the provider-side steps (D4)."""
    check_csrf(request, csrf_token)
    email = next(
        (v.inbox.email for v in await visible_channels(db, page.actor) if v.inbox.id == inbox_id),
        "",
    )
    steps = await delete_channel(db, runtime, page.actor, inbox_id)
    await db.commit()
    await runtime.scheduler.inbox_changed(inbox_id)
    # The deleter is usually a D3 recipient: the bell counts the notification just sent.
    unread = await unread_count(db, page.actor)
    return await _page(request, page, db, deleted={"email": email, "steps": steps}, unread=unread)
