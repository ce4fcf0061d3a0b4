"""The caller's notifications."""

from typing import Any

from fastapi import APIRouter

from inboxlink.notifications.inbox import (
    list_notifications,
    mark_all_read,
    notification_dict,
    unread_count,
)
from inboxlink.web.deps import ApiCaller, Db

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("")
async def my_notifications(caller: ApiCaller, db: Db) -> dict[str, Any]:
    notes = await list_notifications(db, caller.actor)
    return {
        "items": [notification_dict(n) for n in notes],
        "unread": await unread_count(db, caller.actor),
    }


@router.post("/read", status_code=204)
async def read_all(caller: ApiCaller, db: Db) -> None:
    await mark_all_read(db, caller.actor)
