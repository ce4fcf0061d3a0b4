"""Server-rendered pages (Jinja2, native <dialog>, no JS build step)."""

from fastapi import APIRouter

from inboxlink.web.pages import (
    admin,
    auth,
    connect,
    contacts,
    conversations,
    inbox,
    notifications,
    oauth,
    sequences,
    settings,
    tasks,
)

router = APIRouter(include_in_schema=False)
# connect before settings: "/settings/email/connect" must not be read as an inbox route.
modules = (auth, connect, settings, admin, conversations, inbox, contacts, notifications, oauth)
for module in (*modules, sequences, tasks):
    router.include_router(module.router)
