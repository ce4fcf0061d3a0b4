"""Settings → General → Email: the user's personal inboxes, their sync progress and D1.

Every action is a plain form post (so it works without JavaScript); confirmation dialogs are
native ``<dialog>`` elements that the server can also render already open (``?confirm=``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, Response

from inboxlink.domain.enums import InboxKind, Visibility
from inboxlink.errors import AppError
from inboxlink.services import lifecycle
from inboxlink.services.inboxes import aliases_of, get_inbox, inbox_dict, visible_inboxes
from inboxlink.store.tables import Inbox
from inboxlink.web.deps import Db, RuntimeDep
from inboxlink.web.pages.common import PageContext, SignedIn, check_csrf, redirect, render

router = APIRouter()

CsrfField = Annotated[str, Form(max_length=200)]
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
VISIBILITY_NAMES = {
    Visibility.METADATA.value: "Only that an email was exchanged (people and date)",
    Visibility.SUBJECT.value: "The subject too",
    Visibility.EVERYTHING.value: "Everything (subject and text)",
}


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
        **extra,
    )
    return render(request, "settings_email.html", context, status=status)


@router.get("/settings/email")
async def email_settings(
    request: Request,
    page: SignedIn,
    db: Db,
    connected: Annotated[int | None, Query()] = None,
    confirm: Annotated[str | None, Query(max_length=40)] = None,
    saved: Annotated[int | None, Query()] = None,
) -> Response:
    """The list; ``connected``/``saved`` show a confirmation, ``confirm`` opens a dialog."""
    connected_inbox: Inbox | None = None
    if connected is not None:
        try:
            connected_inbox = await get_inbox(db, page.actor, connected)
        except AppError:
            connected_inbox = None
    return await _email_page(
        request, page, db, connected_inbox=connected_inbox, confirm=confirm, saved=saved
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
    check_csrf(request, csrf_token)
    try:
        await lifecycle.disable(db, page.actor, inbox_id)
    except AppError as error:
        return await _act(request, page, db, inbox_id, error)
    await db.commit()
    runtime.signals.inboxes_changed.set()
    return redirect(f"/settings/email#inbox-{inbox_id}")


@router.post("/settings/email/{inbox_id}/enable")
async def enable_inbox(
    request: Request,
    inbox_id: int,
    page: SignedIn,
    db: Db,
    runtime: RuntimeDep,
    csrf_token: CsrfField,
) -> Response:
    check_csrf(request, csrf_token)
    try:
        await lifecycle.enable(db, page.actor, inbox_id)
    except AppError as error:
        return await _act(request, page, db, inbox_id, error)
    await db.commit()
    runtime.signals.inboxes_changed.set()
    return redirect(f"/settings/email#inbox-{inbox_id}")


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
    runtime.signals.inboxes_changed.set()
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
    runtime.signals.inboxes_changed.set()
    return redirect(f"/settings/email?saved={inbox_id}#inbox-{inbox_id}")
