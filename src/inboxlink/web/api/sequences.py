"""Sequences (steps, preview), enrollments (enroll one or many, unenroll, status) and the
per-inbox daily sending limit."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator

from inboxlink.domain.permissions import is_admin
from inboxlink.errors import AppError
from inboxlink.sequences.compose import compose
from inboxlink.sequences.definitions import (
    SequenceSpec,
    StepSpec,
    create_sequence,
    delete_sequence,
    get_sequence,
    list_sequences,
    replace_sequence,
    sequence_dict,
    steps_of,
)
from inboxlink.sequences.enrollments import (
    enroll,
    enrollment_dict,
    get_enrollment,
    list_enrollments,
    sent_steps,
    unenroll,
)
from inboxlink.sequences.limits import limit_dict, set_daily_limit
from inboxlink.sequences.tokens import Person
from inboxlink.services.contacts import get_contact
from inboxlink.services.inboxes import get_inbox
from inboxlink.store.tables import Contact, Enrollment, Sequence
from inboxlink.web.deps import ApiCaller, Db

router = APIRouter(tags=["sequences"])
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def minutes(value: str | None) -> int | None:
    """``"HH:MM"`` → minutes after midnight (None stays None)."""
    if value is None or value == "":
        return None
    match = _CLOCK.match(value)
    if match is None:
        raise ValueError("use HH:MM, e.g. 09:00")
    return int(match.group(1)) * 60 + int(match.group(2))


class StepIn(BaseModel):
    subject: str = Field(default="", max_length=998)
    body: str = Field(default="", max_length=100_000)
    delay_seconds: int = Field(default=0, ge=0, le=365 * 86400)
    business_days_only: bool = False
    window_start: str | None = Field(default=None, max_length=5)
    window_end: str | None = Field(default=None, max_length=5)
    new_thread: bool = False

    @field_validator("window_start", "window_end")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        minutes(value)
        return value


class SequenceIn(BaseModel):
    name: str = Field(max_length=200)
    time_zone: str = Field(default="UTC", max_length=60)
    track: bool = False
    stop_on_any_reply: bool = False
    auto_reply_pause_seconds: int = Field(default=3 * 86400, ge=0, le=90 * 86400)
    steps: Annotated[list[StepIn], Field(min_length=1, max_length=20)]

    def spec(self) -> SequenceSpec:
        return SequenceSpec(
            name=self.name,
            time_zone=self.time_zone,
            track=self.track,
            stop_on_any_reply=self.stop_on_any_reply,
            auto_reply_pause_seconds=self.auto_reply_pause_seconds,
            steps=[
                StepSpec(
                    subject=s.subject,
                    body=s.body,
                    delay_seconds=s.delay_seconds,
                    business_days_only=s.business_days_only,
                    window_start=minutes(s.window_start),
                    window_end=minutes(s.window_end),
                    new_thread=s.new_thread,
                )
                for s in self.steps
            ],
        )


async def _sequence_out(db: Db, sequence: Sequence) -> dict[str, Any]:
    return sequence_dict(sequence, await steps_of(db, sequence.id))


@router.get("/sequences")
async def read_sequences(caller: ApiCaller, db: Db) -> dict[str, Any]:
    found = await list_sequences(db, caller.actor)
    return {"items": [await _sequence_out(db, s) for s in found]}


@router.post("/sequences", status_code=201)
async def add_sequence(body: SequenceIn, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return await _sequence_out(db, await create_sequence(db, caller.actor, body.spec()))


@router.get("/sequences/{sequence_id}")
async def read_sequence(sequence_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return await _sequence_out(db, await get_sequence(db, caller.actor, sequence_id))


@router.put("/sequences/{sequence_id}")
async def change_sequence(
    sequence_id: int, body: SequenceIn, caller: ApiCaller, db: Db
) -> dict[str, Any]:
    sequence = await replace_sequence(db, caller.actor, sequence_id, body.spec())
    return await _sequence_out(db, sequence)


@router.delete("/sequences/{sequence_id}", status_code=204)
async def remove_sequence(sequence_id: int, caller: ApiCaller, db: Db) -> None:
    await delete_sequence(db, caller.actor, sequence_id)


class PreviewIn(BaseModel):
    contact_id: int
    sender_name: str = Field(default="", max_length=200)


@router.post("/sequences/{sequence_id}/preview")
async def preview(sequence_id: int, body: PreviewIn, caller: ApiCaller, db: Db) -> dict[str, Any]:
    """Every step as the contact would receive it (tokens filled, thread subjects)."""
    sequence = await get_sequence(db, caller.actor, sequence_id)
    contact = await get_contact(db, caller.actor, body.contact_id)
    steps = await steps_of(db, sequence.id)
    sender = Person(body.sender_name or caller.user.name, caller.user.email)
    person = Person(contact.name, contact.email)
    previews = [compose(steps, n, person, sender) for n in range(len(steps))]
    return {
        "contact_id": contact.id,
        "steps": [
            {"subject": p.subject, "text": p.text, "in_thread": p.in_thread} for p in previews
        ],
    }


class EnrollIn(BaseModel):
    sequence_id: int
    contact_ids: Annotated[list[int], Field(min_length=1, max_length=500)]
    inbox_id: int
    sender: str | None = Field(default=None, alias="from", max_length=320)


async def _enrollment_out(db: Db, enrollment: Enrollment) -> dict[str, Any]:
    sequence = await db.get(Sequence, enrollment.sequence_id)
    contact = await db.get(Contact, enrollment.contact_id)
    assert sequence is not None and contact is not None
    return enrollment_dict(enrollment, sequence, contact, await sent_steps(db, enrollment.id))


@router.post("/enrollments", status_code=207)
async def add_enrollments(body: EnrollIn, caller: ApiCaller, db: Db) -> dict[str, Any]:
    """Enroll each contact; the result says per contact whether it was enrolled and why not."""
    results: list[dict[str, Any]] = []
    for contact_id in dict.fromkeys(body.contact_ids):
        try:
            async with db.begin_nested():
                enrollment = await enroll(
                    db, caller.actor, body.sequence_id, contact_id, body.inbox_id, body.sender
                )
            results.append(
                {"contact_id": contact_id, "enrollment": await _enrollment_out(db, enrollment)}
            )
        except AppError as error:
            results.append({"contact_id": contact_id, **error.to_dict()})
    return {"results": results}


@router.get("/enrollments")
async def read_enrollments(
    caller: ApiCaller,
    db: Db,
    contact_id: int | None = Query(default=None),
    sequence_id: int | None = Query(default=None),
    state: str | None = Query(default=None, max_length=20),
) -> dict[str, Any]:
    rows = await list_enrollments(
        db, caller.actor, contact_id=contact_id, sequence_id=sequence_id, state=state
    )
    return {"items": [enrollment_dict(e, s, c, await sent_steps(db, e.id)) for e, s, c in rows]}


@router.get("/enrollments/{enrollment_id}")
async def read_enrollment(enrollment_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return await _enrollment_out(db, await get_enrollment(db, caller.actor, enrollment_id))


@router.delete("/enrollments/{enrollment_id}")
async def remove_enrollment(enrollment_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    """Unenroll: no more steps go out; the enrollment stays as the record (stopped)."""
    return await _enrollment_out(db, await unenroll(db, caller.actor, enrollment_id))


class LimitIn(BaseModel):
    daily_limit: int = Field(ge=1, le=100_000)


@router.get("/sequences/sending-limits/{inbox_id}")
async def read_limit(inbox_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    if not is_admin(caller.actor):
        await get_inbox(db, caller.actor, inbox_id)
    return await limit_dict(db, inbox_id)


@router.put("/sequences/sending-limits/{inbox_id}")
async def change_limit(inbox_id: int, body: LimitIn, caller: ApiCaller, db: Db) -> dict[str, Any]:
    await set_daily_limit(db, caller.actor, inbox_id, body.daily_limit)
    await db.flush()
    return await limit_dict(db, inbox_id)
