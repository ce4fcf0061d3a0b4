"""The JSON API under ``/api/v1``; errors always look like ``{"error": {"code", "message"}}``."""

from fastapi import APIRouter

from inboxlink.web.api import admin, contacts, emails, inboxes, me, notifications

router = APIRouter(prefix="/api/v1")
for module in (me, inboxes, emails, contacts, notifications, admin):
    router.include_router(module.router)
