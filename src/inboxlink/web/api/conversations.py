"""The conversations inbox and the help desk (T1): threads of team inboxes, their state,
internal comments and replies from the team address."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, Field

from inboxlink.conversations import actions
from inboxlink.conversations.model import Destination, Priority, Status, TicketStatus
from inboxlink.conversations.queries import (
    Filters,
    Summary,
    account_users,
    list_conversations,
    read_conversation,
)
from inboxlink.conversations.refresh import refresh, team_addresses
from inboxlink.conversations.replies import ReplyRequest, reply
from inboxlink.conversations.views import detail_dict, summary_dict
from inboxlink.outbox.queue import outbound_dict
from inboxlink.web.deps import ApiCaller, Db, RuntimeDep

router = APIRouter(prefix="/conversations", tags=["conversations"])


class AssignIn(BaseModel):
    user_id: int | None = Field(description="null unassigns")


class CommentIn(BaseModel):
    body: str = Field(min_length=1, max_length=20_000)


class ReplyIn(BaseModel):
    text: str = Field(default="", max_length=1_000_000)
    html: str = Field(default="", max_length=2_000_000)
    reply_all: bool = False


class TicketIn(BaseModel):
    status: TicketStatus | None = None
    priority: Priority | None = None


class DiscardIn(BaseModel):
    # Only these two: any other status reached actions.discard as a 500 (API fuzz, issue 10).
    reason: Literal[Status.DELETED, Status.SPAM] = Field(
        default=Status.DELETED, description="deleted or spam"
    )


async def _summary(db: Db, caller: ApiCaller, summary: Summary) -> dict[str, Any]:
    return summary_dict(summary, await account_users(db, caller.actor.account_id))


@router.get("")
async def list_all(
    caller: ApiCaller,
    db: Db,
    channel: int | None = None,
    status: Status | None = None,
    assignee: Annotated[str | None, Query(max_length=20)] = None,
    destination: Destination | None = None,
    ticket_status: TicketStatus | None = None,
) -> dict[str, Any]:
    """Open and closed conversations, newest first; ``assignee`` is me, none or a user id."""
    await refresh(db, caller.actor.account_id)
    found = await list_conversations(
        db,
        caller.actor,
        Filters(
            channel, status, assignee, destination, ticket_status.value if ticket_status else None
        ),
    )
    users = await account_users(db, caller.actor.account_id)
    return {"items": [summary_dict(s, users) for s in found], "next": None}


@router.get("/{conversation_id}")
async def read_one(conversation_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    """The thread with its messages (HTML sanitised) and the team's internal comments."""
    await refresh(db, caller.actor.account_id)
    detail = await read_conversation(db, caller.actor, conversation_id)
    team = await team_addresses(db, detail.summary.channel.inbox)
    return detail_dict(detail, await account_users(db, caller.actor.account_id), team)


@router.post("/{conversation_id}/assign")
async def assign(conversation_id: int, body: AssignIn, caller: ApiCaller, db: Db) -> dict[str, Any]:
    summary = await actions.assign(db, caller.actor, conversation_id, body.user_id)
    return await _summary(db, caller, summary)


@router.post("/{conversation_id}/close")
async def close(conversation_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return await _summary(db, caller, await actions.close(db, caller.actor, conversation_id))


@router.post("/{conversation_id}/reopen")
async def reopen(conversation_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return await _summary(db, caller, await actions.reopen(db, caller.actor, conversation_id))


@router.post("/{conversation_id}/ticket")
async def ticket(conversation_id: int, body: TicketIn, caller: ApiCaller, db: Db) -> dict[str, Any]:
    """Help desk: a ticket's status and priority."""
    summary = await actions.triage(
        db, caller.actor, conversation_id, ticket_status=body.status, priority=body.priority
    )
    return await _summary(db, caller, summary)


@router.post("/{conversation_id}/discard")
async def discard(
    conversation_id: int, body: DiscardIn, caller: ApiCaller, db: Db
) -> dict[str, Any]:
    """Delete or mark as spam: hidden, and not imported again by the next sync. Nothing is
    deleted on the mail server."""
    summary = await actions.discard(db, caller.actor, conversation_id, body.reason)
    return await _summary(db, caller, summary)


@router.post("/{conversation_id}/comments", status_code=201)
async def add_comment(
    conversation_id: int, body: CommentIn, caller: ApiCaller, db: Db
) -> dict[str, Any]:
    """An internal comment, seen only by the team."""
    note = await actions.comment(db, caller.actor, conversation_id, body.body)
    return {"id": note.id, "body": note.body, "author_id": note.author_id}


@router.post("/{conversation_id}/reply", status_code=202)
async def send_reply(
    conversation_id: int,
    body: ReplyIn,
    caller: ApiCaller,
    db: Db,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Reply (or reply-all) from the team address, threaded to the latest message."""
    queued = await reply(
        db,
        caller.actor,
        conversation_id,
        ReplyRequest(body.text, body.html, body.reply_all),
        idempotency_key,
    )
    await db.commit()
    await runtime.scheduler.outbox_changed()
    return outbound_dict(queued)
