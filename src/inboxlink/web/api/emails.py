"""Sending one-to-one email: queue with an optional ``Idempotency-Key``, then read its state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field

from inboxlink.errors import NotFound
from inboxlink.outbox.queue import SendRequest, enqueue, outbound_dict
from inboxlink.store.tables import OutboundEmail
from inboxlink.web.deps import ApiCaller, Db, RuntimeDep

router = APIRouter(prefix="/emails", tags=["emails"])

Address = Annotated[str, Field(max_length=320)]
Addresses = Annotated[list[Address], Field(max_length=100)]


class EmailIn(BaseModel):
    inbox_id: int
    sender: str | None = Field(default=None, alias="from", max_length=320)
    to: Annotated[list[Address], Field(min_length=1, max_length=100)]
    cc: Addresses = []
    bcc: Addresses = []
    subject: str = Field(max_length=998)
    text: str = Field(default="", max_length=1_000_000)
    html: str = Field(default="", max_length=2_000_000)
    in_reply_to: str = Field(default="", max_length=998)
    track: bool = False


@router.post("", status_code=202)
async def send_email(
    body: EmailIn,
    caller: ApiCaller,
    db: Db,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Queue an email through one of your inboxes; the same Idempotency-Key sends it once."""
    request = SendRequest(
        inbox_id=body.inbox_id,
        to=body.to,
        cc=body.cc,
        bcc=body.bcc,
        subject=body.subject,
        text=body.text,
        html=body.html,
        sender=body.sender,
        in_reply_to=body.in_reply_to,
        track=body.track,
    )
    row = await enqueue(db, caller.actor, request, idempotency_key)
    await db.commit()
    await runtime.scheduler.outbox_changed()
    return outbound_dict(row)


@router.get("/{email_id}")
async def read_email(email_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    row = await db.get(OutboundEmail, email_id)
    if row is None or row.user_id != caller.actor.user_id:
        raise NotFound("email")
    return outbound_dict(row)
