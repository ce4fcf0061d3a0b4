"""Tasks: the suggestions inbox automation made from mail, accepted, dismissed or done."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from inboxlink.automation.suggestions import TaskState, decide, list_tasks, task_dict
from inboxlink.store.tables import Contact, Message
from inboxlink.web.deps import ApiCaller, Db

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.get("")
async def read_tasks(
    caller: ApiCaller, db: Db, state: TaskState | None = Query(default=None)
) -> dict[str, Any]:
    """The caller's tasks, soonest due first; ``?state=suggested`` for those to decide on."""
    return {"items": await list_tasks(db, caller.actor, state)}


async def _decided(db: Db, caller: ApiCaller, task_id: int, decision: str) -> dict[str, Any]:
    task = await decide(db, caller.actor, task_id, decision)
    contact = await db.get(Contact, task.contact_id) if task.contact_id else None
    message = await db.get(Message, task.message_id) if task.message_id else None
    return task_dict(task, contact, message)


@router.post("/{task_id}/accept")
async def accept_task(task_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    """A suggestion becomes an open task."""
    return await _decided(db, caller, task_id, "accept")


@router.post("/{task_id}/dismiss")
async def dismiss_task(task_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return await _decided(db, caller, task_id, "dismiss")


@router.post("/{task_id}/done")
async def complete_task(task_id: int, caller: ApiCaller, db: Db) -> dict[str, Any]:
    return await _decided(db, caller, task_id, "done")
