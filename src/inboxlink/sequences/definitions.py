"""Sequences and their steps: create, replace, delete, read; visible to the whole account,
changed by their owner or an admin."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc
from inboxlink.domain.permissions import Actor, is_admin
from inboxlink.errors import AppError, Forbidden, NotFound
from inboxlink.sequences.schedule import zone
from inboxlink.sequences.tokens import check_template
from inboxlink.store.tables import Sequence, SequenceStep

MAX_STEPS = 20


@dataclass(frozen=True, slots=True)
class StepSpec:
    subject: str
    body: str
    delay_seconds: int = 0
    business_days_only: bool = False
    window_start: int | None = None
    window_end: int | None = None
    new_thread: bool = False


@dataclass(frozen=True, slots=True)
class SequenceSpec:
    name: str
    steps: list[StepSpec]
    time_zone: str = "UTC"
    track: bool = False
    stop_on_any_reply: bool = False
    auto_reply_pause_seconds: int = 3 * 86400


def _check(spec: SequenceSpec) -> None:
    if not spec.name.strip():
        raise AppError("invalid_name", "Give the sequence a name.", status=422)
    if not 1 <= len(spec.steps) <= MAX_STEPS:
        raise AppError(
            "invalid_steps", f"A sequence has between 1 and {MAX_STEPS} steps.", status=422
        )
    zone(spec.time_zone)
    for number, step in enumerate(spec.steps, start=1):
        check_template(f"subject of step {number}", step.subject)
        check_template(f"body of step {number}", step.body)
        if number == 1 and not step.subject.strip():
            raise AppError("invalid_subject", "The first step needs a subject.", status=422)
        if step.delay_seconds < 0:
            raise AppError("invalid_delay", "A delay cannot be negative.", status=422)


def _apply(sequence: Sequence, spec: SequenceSpec) -> None:
    sequence.name = spec.name.strip()
    sequence.time_zone = spec.time_zone
    sequence.track = spec.track
    sequence.stop_on_any_reply = spec.stop_on_any_reply
    sequence.auto_reply_pause_seconds = spec.auto_reply_pause_seconds


def _steps(sequence_id: int, spec: SequenceSpec) -> list[SequenceStep]:
    return [
        SequenceStep(
            sequence_id=sequence_id,
            position=position,
            subject=step.subject.strip(),
            body=step.body,
            delay_seconds=step.delay_seconds,
            business_days_only=step.business_days_only,
            window_start=step.window_start,
            window_end=step.window_end,
            new_thread=step.new_thread,
        )
        for position, step in enumerate(spec.steps)
    ]


async def create_sequence(session: AsyncSession, actor: Actor, spec: SequenceSpec) -> Sequence:
    _check(spec)
    sequence = Sequence(account_id=actor.account_id, owner_id=actor.user_id)
    _apply(sequence, spec)
    session.add(sequence)
    await session.flush()
    session.add_all(_steps(sequence.id, spec))
    await session.flush()
    return sequence


async def get_sequence(session: AsyncSession, actor: Actor, sequence_id: int) -> Sequence:
    sequence = await session.get(Sequence, sequence_id)
    if sequence is None or sequence.account_id != actor.account_id:
        raise NotFound("sequence")
    return sequence


def _check_may_change(actor: Actor, sequence: Sequence) -> None:
    if sequence.owner_id != actor.user_id and not is_admin(actor):
        raise Forbidden("Only the sequence's owner or an admin can change it.")


async def replace_sequence(
    session: AsyncSession, actor: Actor, sequence_id: int, spec: SequenceSpec
) -> Sequence:
    """New settings and steps; running enrollments continue at the same step number."""
    sequence = await get_sequence(session, actor, sequence_id)
    _check_may_change(actor, sequence)
    _check(spec)
    _apply(sequence, spec)
    await session.execute(delete(SequenceStep).where(SequenceStep.sequence_id == sequence.id))
    session.add_all(_steps(sequence.id, spec))
    await session.flush()
    return sequence


async def delete_sequence(session: AsyncSession, actor: Actor, sequence_id: int) -> None:
    sequence = await get_sequence(session, actor, sequence_id)
    _check_may_change(actor, sequence)
    await session.delete(sequence)


async def steps_of(session: AsyncSession, sequence_id: int) -> list[SequenceStep]:
    rows = await session.scalars(
        select(SequenceStep)
        .where(SequenceStep.sequence_id == sequence_id)
        .order_by(SequenceStep.position)
    )
    return list(rows)


async def list_sequences(session: AsyncSession, actor: Actor) -> list[Sequence]:
    rows = await session.scalars(
        select(Sequence).where(Sequence.account_id == actor.account_id).order_by(Sequence.name)
    )
    return list(rows)


def clock_text(minutes: int | None) -> str | None:
    return None if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


def step_dict(step: SequenceStep) -> dict[str, Any]:
    return {
        "position": step.position,
        "subject": step.subject,
        "body": step.body,
        "delay_seconds": step.delay_seconds,
        "business_days_only": step.business_days_only,
        "window_start": clock_text(step.window_start),
        "window_end": clock_text(step.window_end),
        "new_thread": step.new_thread,
    }


def sequence_dict(sequence: Sequence, steps: list[SequenceStep]) -> dict[str, Any]:
    return {
        "id": sequence.id,
        "name": sequence.name,
        "owner_id": sequence.owner_id,
        "time_zone": sequence.time_zone,
        "track": sequence.track,
        "stop_on_any_reply": sequence.stop_on_any_reply,
        "auto_reply_pause_seconds": sequence.auto_reply_pause_seconds,
        "created_at": as_utc(sequence.created_at).isoformat(),
        "steps": [step_dict(s) for s in steps],
    }
