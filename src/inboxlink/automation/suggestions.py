"""Suggested tasks and the user's decision on each: accept (it becomes an open task),
dismiss, or mark an open task done. One suggestion per user per message, so looking at a
message again suggests nothing twice; and none that repeats, word for word, a task about the
same contact still waiting or open (the same request sent twice)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.automation.tasks import Suggestion
from inboxlink.clock import as_utc, utcnow
from inboxlink.domain.permissions import Actor
from inboxlink.errors import Conflict, NotFound
from inboxlink.store.tables import Contact, Message, Task


class TaskState(StrEnum):
    SUGGESTED = "suggested"
    OPEN = "open"
    DISMISSED = "dismissed"
    DONE = "done"


#: What each decision does, and from which states it may be taken.
_DECISIONS = {
    "accept": ({TaskState.SUGGESTED}, TaskState.OPEN),
    "dismiss": ({TaskState.SUGGESTED}, TaskState.DISMISSED),
    "done": ({TaskState.OPEN}, TaskState.DONE),
}


async def add_suggestion(
    session: AsyncSession,
    *,
    user_id: int,
    account_id: int,
    contact_id: int,
    message_id: int,
    suggestion: Suggestion,
) -> Task | None:
    """Store the suggestion unless this message, or the same words, already gave one."""
    exists = await session.scalar(
        select(Task.id).where(
            Task.user_id == user_id,
            or_(
                Task.message_id == message_id,
                and_(
                    Task.contact_id == contact_id,
                    Task.title == suggestion.title,
                    Task.state.in_([TaskState.SUGGESTED.value, TaskState.OPEN.value]),
                ),
            ),
        )
    )
    if exists is not None:
        return None
    task = Task(
        account_id=account_id,
        user_id=user_id,
        contact_id=contact_id,
        message_id=message_id,
        kind=suggestion.kind.value,
        title=suggestion.title,
        due_on=suggestion.due_on,
        state=TaskState.SUGGESTED.value,
    )
    session.add(task)
    return task


async def list_tasks(
    session: AsyncSession, actor: Actor, state: TaskState | None, *, limit: int = 200
) -> list[dict[str, Any]]:
    query = (
        select(Task, Contact, Message)
        .outerjoin(Contact, Contact.id == Task.contact_id)
        .outerjoin(Message, Message.id == Task.message_id)
        .where(Task.user_id == actor.user_id)
        .order_by(Task.due_on.is_(None), Task.due_on, Task.id.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(Task.state == state.value)
    rows = await session.execute(query)
    return [task_dict(task, contact, message) for task, contact, message in rows]


async def decide(session: AsyncSession, actor: Actor, task_id: int, decision: str) -> Task:
    task = await session.get(Task, task_id, with_for_update=True)
    if task is None or task.user_id != actor.user_id:
        raise NotFound("task")
    allowed, becomes = _DECISIONS[decision]
    if TaskState(task.state) == becomes:
        return task  # the same decision twice (a double click, a retried request)
    if TaskState(task.state) not in allowed:
        raise Conflict(
            "task_already_decided",
            f"This task is {task.state}; it can no longer be marked {becomes.value}.",
        )
    task.state = becomes.value
    task.decided_at = utcnow()
    return task


def task_dict(task: Task, contact: Contact | None, message: Message | None) -> dict[str, Any]:
    return {
        "id": task.id,
        "kind": task.kind,
        "title": task.title,
        "due_on": task.due_on.isoformat() if task.due_on else None,
        "state": task.state,
        "created_at": as_utc(task.created_at).isoformat(),
        "contact": None if contact is None else {"id": contact.id, "email": contact.email},
        "source": None
        if message is None
        else {
            "message_id": message.message_id,
            "thread_id": message.thread_id,
            "subject": message.subject,
            "from": message.from_addr,
            "sent_at": as_utc(message.sent_at).isoformat(),
        },
    }
