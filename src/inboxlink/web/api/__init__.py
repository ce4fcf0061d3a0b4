"""The JSON API under ``/api/v1``; errors always look like ``{"error": {"code", "message"}}``."""

from fastapi import APIRouter

from inboxlink.web.api import (
    admin,
    channels,
    contacts,
    conversations,
    emails,
    inboxes,
    me,
    notifications,
    sequences,
    tasks,
    tracking,
)

router = APIRouter(prefix="/api/v1")
modules = (
    me,
    inboxes,
    emails,
    contacts,
    notifications,
    admin,
    sequences,
    tasks,
    tracking,
    channels,
    conversations,
)
for module in modules:
    router.include_router(module.router)
