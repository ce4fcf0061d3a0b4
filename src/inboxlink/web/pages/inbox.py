"""Conversations → Inbox: the team's threads, one thread, and the help desk's tickets.

Pages refresh conversation state from the store on every view, and poll ``/conversations/live``
(a version string) to swap in the changed part without a reload.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from inboxlink.conversations import actions
from inboxlink.conversations.channels import visible_channels
from inboxlink.conversations.model import (
    DESTINATION_NAMES,
    TICKET_NAMES,
    Destination,
    Priority,
    Status,
    TicketStatus,
)
from inboxlink.conversations.queries import (
    Filters,
    account_users,
    list_conversations,
    list_version,
    read_conversation,
)
from inboxlink.conversations.refresh import refresh, team_addresses
from inboxlink.conversations.replies import ReplyRequest, reply
from inboxlink.conversations.views import message_dict
from inboxlink.errors import AppError
from inboxlink.web.deps import Db, RuntimeDep
from inboxlink.web.pages.common import PageContext, SignedIn, check_csrf, redirect, render

router = APIRouter()
FILTERS = {"open": "Open", "mine": "Assigned to me", "unassigned": "Unassigned", "closed": "Closed"}
FormStr = Annotated[str, Form(max_length=200)]
Body = Annotated[str, Form(max_length=1_000_000)]


def _filters(show: str, channel: int | None, destination: Destination) -> Filters:
    status = Status.CLOSED if show == "closed" else Status.OPEN
    assignee = {"mine": "me", "unassigned": "none"}.get(show)
    return Filters(channel=channel, status=status, assignee=assignee, destination=destination)


async def _list(
    request: Request,
    page: PageContext,
    db: Db,
    destination: Destination,
    show: str,
    channel: int | None,
) -> Response:
    await refresh(db, page.actor.account_id)
    show = show if show in FILTERS else "open"
    found = await list_conversations(db, page.actor, _filters(show, channel, destination))
    context = page.template_values(
        section="conversations",
        destination=destination.value,
        conversations=found,
        channels=await visible_channels(db, page.actor, destination),
        filters=FILTERS,
        show=show,
        channel=channel,
        users=await account_users(db, page.actor.account_id),
        ticket_names=TICKET_NAMES,
        version=await list_version(db, page.actor),
    )
    template = "helpdesk.html" if destination is Destination.HELPDESK else "conversations.html"
    return render(request, template, context)


@router.get("/conversations")
async def inbox(
    request: Request, page: SignedIn, db: Db, show: str = "open", channel: int | None = None
) -> Response:
    return await _list(request, page, db, Destination.CONVERSATIONS, show, channel)


@router.get("/conversations/helpdesk")
async def helpdesk(
    request: Request, page: SignedIn, db: Db, show: str = "open", channel: int | None = None
) -> Response:
    return await _list(request, page, db, Destination.HELPDESK, show, channel)


@router.get("/conversations/live")
async def live(page: SignedIn, db: Db, conversation: int | None = None) -> Response:
    """What open pages poll: a version that changes with anything they show."""
    await refresh(db, page.actor.account_id)
    if conversation is not None:
        detail = await read_conversation(db, page.actor, conversation)
        c = detail.summary.conversation
        version = f"{c.updated_at.isoformat()}:{len(detail.messages)}:{len(detail.comments)}"
    else:
        version = await list_version(db, page.actor)
    return JSONResponse({"version": version})


@router.get("/conversations/{conversation_id:int}")
async def thread(
    request: Request, conversation_id: int, page: SignedIn, db: Db, error: str = ""
) -> Response:
    await refresh(db, page.actor.account_id)
    detail = await read_conversation(db, page.actor, conversation_id)
    team = await team_addresses(db, detail.summary.channel.inbox)
    c = detail.summary.conversation
    context = page.template_values(
        section="conversations",
        detail=detail,
        messages=[message_dict(m, team) for m in detail.messages],
        users=await account_users(db, page.actor.account_id),
        destinations=DESTINATION_NAMES,
        ticket_names=TICKET_NAMES,
        priorities=[p.value for p in Priority],
        version=f"{c.updated_at.isoformat()}:{len(detail.messages)}:{len(detail.comments)}",
        # One key per rendered form: a double submit sends once, while a second tab (or this
        # page after the live refresh) still sends its own, different reply.
        reply_key=secrets.token_urlsafe(12),
        error=error[:300],
        sent=request.query_params.get("sent", ""),
    )
    return render(request, "thread.html", context)


def _back(conversation_id: int, **query: str) -> Response:
    suffix = f"?{urlencode(query)}" if query else ""
    return redirect(f"/conversations/{conversation_id}{suffix}")


@router.post("/conversations/{conversation_id:int}/act")
async def act(
    request: Request,
    conversation_id: int,
    page: SignedIn,
    db: Db,
    runtime: RuntimeDep,
    csrf_token: FormStr,
    action: FormStr,
    assignee: FormStr = "",
    body: Body = "",
    ticket_status: FormStr = "",
    priority: FormStr = "",
    idempotency_key: FormStr = "",
) -> Response:
    """Every button of the thread view: assign, close, reopen, comment, reply, triage, discard."""
    check_csrf(request, csrf_token)
    actor = page.actor
    try:
        if action == "assign":
            await actions.assign(
                db, actor, conversation_id, int(assignee) if assignee.isdigit() else None
            )
        elif action == "close":
            await actions.close(db, actor, conversation_id)
        elif action == "reopen":
            await actions.reopen(db, actor, conversation_id)
        elif action == "comment":
            await actions.comment(db, actor, conversation_id, body)
        elif action in ("reply", "reply_all"):
            request_ = ReplyRequest(text=body, reply_all=action == "reply_all")
            await reply(db, actor, conversation_id, request_, idempotency_key or None)
            await db.commit()
            await runtime.scheduler.outbox_changed()
            return _back(conversation_id, sent="1")
        elif action == "ticket":
            await actions.triage(
                db,
                actor,
                conversation_id,
                ticket_status=(
                    TicketStatus(ticket_status) if ticket_status in set(TicketStatus) else None
                ),
                priority=Priority(priority) if priority in set(Priority) else None,
            )
        elif action in ("delete", "spam"):
            reason = Status.DELETED if action == "delete" else Status.SPAM
            await actions.discard(db, actor, conversation_id, reason)
            return redirect("/conversations")
        else:
            raise AppError("invalid_action", "This button does nothing.", status=422)
    except AppError as failure:
        if failure.status == 404:
            raise
        await db.rollback()
        return _back(conversation_id, error=failure.message)
    return _back(conversation_id)
