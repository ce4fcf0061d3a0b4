"""Server-rendered pages (Jinja2, native <dialog>, no JS build step)."""

from fastapi import APIRouter

from inboxlink.web.pages import (
    admin,
    auth,
    connect,
    contacts,
    conversations,
    notifications,
    oauth,
    settings,
)

router = APIRouter(include_in_schema=False)
# connect before settings: "/settings/email/connect" must not be read as an inbox route.
for module in (auth, connect, settings, admin, conversations, contacts, notifications, oauth):
    router.include_router(module.router)
