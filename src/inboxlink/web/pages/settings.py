"""Settings → General → Email: the user's personal inboxes, their health (G4), D1 and Reconnect.

Every action is a plain form post (so it works without JavaScript); confirmation dialogs are
native ``<dialog>`` elements that the server can also render already open (``?confirm=``).
Which actions an inbox offers follows its state through a CSS class the page's poller keeps
current, so an inbox that needs reconnecting shows **Reconnect** without a reload.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc, utcnow
from inboxlink.domain.enums import InboxKind, Provider, Visibility
from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError
from inboxlink.services import lifecycle, oauth_connect
from inboxlink.services.connect import reconnect_imap_inbox
from inboxlink.services.inboxes import aliases_of, get_inbox, inbox_dict, visible_inboxes
from inboxlink.store.tables import Inbox
from inboxlink.web.deps import Db, RuntimeDep
from inboxlink.web.pages.common import PageContext, SignedIn, check_csrf, redirect, render

router = APIRouter()

CsrfField = Annotated[str, Form(max_length=200)]
SecretField = Annotated[str, Form(max_length=1000)]
PROVIDER_NAMES = {
    "gmail": "Gmail",
    "microsoft": "Microsoft Outlook",
    "exchange": "Microsoft Exchange",
    "imap": "IMAP",
}
STATE_NAMES = {
    "connecting": "Connecting",
    "connected": "Connected",
    "needs_reconnect": "Needs reconnecting",
    "disabled": "Disabled",
    "disconnected_migrated": "Disconnected (mailbox moved)",
    "removed": "Removed",
}
#: Providers whose Reconnect runs the provider's consent again (R2) instead of asking a password.
OAUTH_PROVIDERS = {p.value: p for p in oauth_connect.OAUTH_PROVIDERS}
VISIBILITY_NAMES = {
    Visibility.METADATA.value: "Only that an email was exchanged (people and date)",
    Visibility.SUBJECT.value: "The subject too",
    Visibility.EVERYTHING.value: "Everything (subject and text)",
}


def sync_age(when: datetime | None, now: datetime | None = None) -> str:
    """How long ago the last successful sync was, in words (the sync lag of G4).

    Shown next to the UTC time so a user sees at a glance whether "up to date" is recent; the
    page's poller refreshes it with the same wording.
    """
    if when is None:
        return ""
    seconds = max(0, int(((now or utcnow()) - as_utc(when)).total_seconds()))
    if seconds < 60:
        return "just now"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    days = hours // 24
    return f"{days} days ago"


async def _email_page(
    request: Request,
    page: PageContext,
    db: Db,
    *,
    status: int = 200,
    **extra: Any,
) -> Response:
    inboxes = await visible_inboxes(db, page.actor, kind=InboxKind.PERSONAL)
    aliases = await aliases_of(db, [i.id for i in inboxes])
    context = page.template_values(
        inboxes=inboxes,
        aliases=aliases,
        section="settings",
        tab="email",
        provider_names=PROVIDER_NAMES,
        state_names=STATE_NAMES,
        visibility_names=VISIBILITY_NAMES,
        oauth_providers=OAUTH_PROVIDERS,
        sync_age=sync_age,
        **extra,
    )
    return render(request, "settings_email.html", context, status=status)


@router.get("/settings/email")
async def email_settings(
    request: Request,
    page: SignedIn,
    db: Db,
    connected: Annotated[int | None, Query()] = None,
    reconnected: Annotated[int | None, Query()] = None,
    confirm: Annotated[str | None, Query(max_length=40)] = None,
    saved: Annotated[int | None, Query()] = None,
    used_recommended_url: Annotated[bool, Query()] = False,
) -> Response:
    """The list; ``connected``/``reconnected``/``saved`` confirm, ``confirm`` opens a dialog.

    ``used_recommended_url`` comes from the Exchange connect page when the URL that worked was
    the one recommended for a pasted webmail address, so the dialog can say which one (P8).
    """
    connected_inbox: Inbox | None = None
    shown = connected if connected is not None else reconnected
    if shown is not None:
        try:
            connected_inbox = await get_inbox(db, page.actor, shown)
        except AppError:
            connected_inbox = None
    return await _email_page(
        request,
        page,
        db,
        connected_inbox=connected_inbox,
        was_reconnect=connected is None,
        confirm=confirm,
        saved=saved,
        used_recommended_url=used_recommended_url
        and connected_inbox is not None
        and connected_inbox.provider == "exchange",
    )


@router.get("/settings/email/status")
async def email_status(page: SignedIn, db: Db) -> JSONResponse:
    """The sync fields of the user's own inboxes, polled by the page to move progress bars."""
    inboxes = await visible_inboxes(db, page.actor, kind=InboxKind.PERSONAL)
    items = []
    for inbox in inboxes:
        data = inbox_dict(inbox, [])
        items.append(
            {
                "id": inbox.id,
                "state": inbox.state,
                "state_name": STATE_NAMES.get(inbox.state, inbox.state),
                "sync": data["sync"],
                "sync_age": sync_age(inbox.last_sync_at),
            }
        )
    return JSONResponse({"items": items}, headers={"Cache-Control": "no-store"})


async def _act(
    request: Request, page: PageContext, db: Db, inbox_id: int, error: AppError
) -> Response:
    """Show a refused action in place, on the list, with its code (P11).

    The lifecycle services refuse before changing anything, so there is nothing to roll back.
    """
    return await _email_page(
        request, page, db, action_error=error, error_inbox=inbox_id, status=error.status
    )


async def _switch(
    request: Request,
    inbox_id: int,
    page: PageContext,
    db: Db,
    runtime: RuntimeDep,
    csrf_token: str,
    change: Callable[[AsyncSession, Actor, int], Awaitable[None]],
) -> Response:
    """Disable or enable, then back to the inbox in the list (or the error in place)."""
    check_csrf(request, csrf_token)
    try:
        await change(db, page.actor, inbox_id)
    except AppError as error:
        return await _act(request, page, db, inbox_id, error)
    await db.commit()
    await runtime.scheduler.inbox_changed(inbox_id)
    return redirect(f"/settings/email#inbox-{inbox_id}")


@router.post("/settings/email/{inbox_id}/disable")
async def disable_inbox(
    request: Request,
    inbox_id: int,
    page: SignedIn,
    db: Db,
    runtime: RuntimeDep,
    csrf_token: CsrfField,
) -> Response:
    """D1: after "Yes, disable it" nothing is synced or sent through the inbox."""
    return await _switch(request, inbox_id, page, db, runtime, csrf_token, lifecycle.disable)


@router.post("/settings/email/{inbox_id}/enable")
async def enable_inbox(
    request: Request,
    inbox_id: int,
    page: SignedIn,
    db: Db,
    runtime: RuntimeDep,
    csrf_token: CsrfField,
) -> Response:
    return await _switch(request, inbox_id, page, db, runtime, csrf_token, lifecycle.enable)


@router.post("/settings/email/{inbox_id}/remove")
async def remove_inbox(
    request: Request,
    inbox_id: int,
    page: SignedIn,
    db: Db,
    runtime: RuntimeDep,
    csrf_token: CsrfField,
) -> Response:
    """D1 then D4: the page answers with the steps still to do at the provider."""
    check_csrf(request, csrf_token)
    try:
        inbox = await get_inbox(db, page.actor, inbox_id)
        email, provider = inbox.email, inbox.provider
        steps = await lifecycle.remove(db, runtime, page.actor, inbox_id)
    except AppError as error:
        return await _act(request, page, db, inbox_id, error)
    await db.commit()
    await runtime.scheduler.inbox_changed(inbox_id)
    removed = {"email": email, "provider": PROVIDER_NAMES.get(provider, provider), "steps": steps}
    return await _email_page(request, page, db, removed=removed)


@router.post("/settings/email/{inbox_id}/options")
async def inbox_options(
    request: Request,
    inbox_id: int,
    page: SignedIn,
    db: Db,
    runtime: RuntimeDep,
    csrf_token: CsrfField,
    visibility_crm_sent: Annotated[Visibility, Form()],
    visibility_other: Annotated[Visibility, Form()],
    inbox_automation: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Inbox automation (P2) and what colleagues see of this inbox's logged mail."""
    check_csrf(request, csrf_token)
    try:
        await lifecycle.change_options(
            db,
            page.actor,
            inbox_id,
            inbox_automation=bool(inbox_automation),
            visibility_crm_sent=visibility_crm_sent,
            visibility_other=visibility_other,
        )
    except AppError as error:
        return await _act(request, page, db, inbox_id, error)
    await db.commit()
    await runtime.scheduler.inbox_changed(inbox_id)
    return redirect(f"/settings/email?saved={inbox_id}#inbox-{inbox_id}")


@router.post("/settings/email/{inbox_id}/reconnect")
async def reconnect_inbox(
    request: Request,
    inbox_id: int,
    page: SignedIn,
    db: Db,
    runtime: RuntimeDep,
    csrf_token: CsrfField,
    password: SecretField = "",
    smtp_password: SecretField = "",
) -> Response:
    """Reconnect (``needs_reconnect`` → connected), keeping the inbox id, history and checkpoint.

    Gmail and Microsoft go through the provider's consent again (R2: Google asks, in one
    consent, for every feature's scopes); the callback page completes it. IMAP asks for the
    new password in a dialog and verifies it before anything is saved; a refusal is shown in
    that dialog, and the password is never written back into the page.
    """
    check_csrf(request, csrf_token)
    try:
        inbox = await get_inbox(db, page.actor, inbox_id)
        provider = inbox.provider
        automation = inbox.inbox_automation
    except AppError as error:
        return await _act(request, page, db, inbox_id, error)
    # End the request session's read before services write through sessions of their own.
    await db.commit()
    try:
        if provider in OAUTH_PROVIDERS:
            url = await oauth_connect.start(
                runtime,
                page.actor,
                OAUTH_PROVIDERS[provider],
                inbox_automation=automation,
                via_api=False,
                reconnect_inbox_id=inbox_id,
            )
            return redirect(url)
        if provider != Provider.IMAP.value:
            raise AppError(
                "reconnect_unavailable",
                "This kind of inbox cannot be reconnected here yet. Remove it, then connect it "
                "again with Connect personal email.",
                status=409,
            )
        if not password:
            raise AppError(
                "password_required",
                "Enter the mailbox password. If two-factor authentication is on, create an app "
                "password in your mail account's security settings and use that.",
                status=422,
            )
        await reconnect_imap_inbox(runtime, page.actor, inbox_id, password, smtp_password)
    except AppError as error:
        if provider == Provider.IMAP.value:
            status = error.status if 400 <= error.status < 500 else 422
            return await _email_page(
                request,
                page,
                db,
                confirm=f"reconnect-{inbox_id}",
                reconnect_error=error,
                status=status,
            )
        return await _act(request, page, db, inbox_id, error)
    await runtime.scheduler.inbox_changed(inbox_id)
    return redirect(f"/settings/email?reconnected={inbox_id}")
