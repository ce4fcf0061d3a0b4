"""Sending one-to-one email: queue with an optional ``Idempotency-Key``, then read its state;
or queue many at once (a CRM's mass one-to-one send), each with its own key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import BaseModel, Field, ValidationError, WithJsonSchema

from inboxlink.errors import AppError, NotFound
from inboxlink.outbox.queue import SendRequest, enqueue, enqueue_many, outbound_dict
from inboxlink.store.tables import OutboundEmail
from inboxlink.web.deps import ApiCaller, Db, RuntimeDep
from inboxlink.web.validation import invalid_request

router = APIRouter(prefix="/emails", tags=["emails"])

Address = Annotated[str, Field(max_length=320)]
Addresses = Annotated[list[Address], Field(max_length=100)]
#: Emails in one ``POST /api/v1/emails/batch``.
MAX_BATCH = 500


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

    def request(self) -> SendRequest:
        return SendRequest(
            inbox_id=self.inbox_id,
            to=self.to,
            cc=self.cc,
            bcc=self.bcc,
            subject=self.subject,
            text=self.text,
            html=self.html,
            sender=self.sender,
            in_reply_to=self.in_reply_to,
            track=self.track,
        )


class BatchEmailIn(EmailIn):
    """One email of a batch: what ``POST /api/v1/emails`` takes, plus its idempotency key."""

    idempotency_key: str | None = Field(default=None, max_length=200)


class BatchIn(BaseModel):
    # Items are checked one by one in the handler, so one malformed email is reported on its
    # own instead of refusing the whole batch; the schema still documents BatchEmailIn.
    emails: Annotated[
        list[Annotated[dict[str, Any], WithJsonSchema(BatchEmailIn.model_json_schema())]],
        Field(min_length=1, max_length=MAX_BATCH),
    ]


class ItemError(BaseModel):
    code: str
    message: str


class BatchItemOut(BaseModel):
    index: int = Field(description="Position of the email in the request.")
    status: int = Field(
        description="What POST /api/v1/emails would have answered for it: 202 when queued "
        "(or already queued under the same idempotency key), else the error's status."
    )
    email: dict[str, Any] | None = Field(default=None, description="The queued email.")
    error: ItemError | None = None


class BatchOut(BaseModel):
    queued: int
    failed: int
    results: list[BatchItemOut]


@router.post("", status_code=202)
async def send_email(
    body: EmailIn,
    caller: ApiCaller,
    db: Db,
    runtime: RuntimeDep,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> dict[str, Any]:
    """Queue an email through one of your inboxes; the same Idempotency-Key sends it once."""
    row = await enqueue(db, caller.actor, body.request(), idempotency_key)
    await db.commit()
    await runtime.scheduler.outbox_changed()
    return outbound_dict(row)


@router.post("/batch")
async def send_emails(body: BatchIn, caller: ApiCaller, db: Db, runtime: RuntimeDep) -> BatchOut:
    """Queue up to 500 emails in one request and one transaction, each checked and queued
    exactly as ``POST /api/v1/emails`` would (its ``idempotency_key`` in place of the header:
    a key seen before, in this batch or earlier, returns the first email). An email that is
    refused gets its error code in its result and does not stop the others."""
    checked: list[BatchEmailIn | AppError] = []
    for item in body.emails:
        try:
            checked.append(BatchEmailIn.model_validate(item))
        except ValidationError as exc:
            checked.append(invalid_request(exc.errors()))
    requests = [(e.request(), e.idempotency_key) for e in checked if isinstance(e, BatchEmailIn)]
    queued_in_order = iter(await enqueue_many(db, caller.actor, requests))
    outcomes = [next(queued_in_order) if isinstance(e, BatchEmailIn) else e for e in checked]
    results = [
        BatchItemOut(
            index=index,
            status=outcome.status,
            error=ItemError(code=outcome.code, message=outcome.message),
        )
        if isinstance(outcome, AppError)
        else BatchItemOut(index=index, status=202, email=outbound_dict(outcome))
        for index, outcome in enumerate(outcomes)
    ]
    await db.commit()
    queued = sum(result.error is None for result in results)
    if queued:
        await runtime.scheduler.outbox_changed()
    return BatchOut(queued=queued, failed=len(results) - queued, results=results)


@router.get("/{email_id}")
async def read_email(email_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    row = await db.get(OutboundEmail, email_id)
    if row is None or row.user_id != caller.actor.user_id:
        raise NotFound("email")
    return outbound_dict(row)
