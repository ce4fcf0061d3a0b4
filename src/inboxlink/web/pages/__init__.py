"""Server-rendered pages (Jinja2, native <dialog>, no JS build step)."""

from fastapi import APIRouter

from inboxlink.web.pages import auth, contacts, conversations, notifications, settings

router = APIRouter(include_in_schema=False)
for module in (auth, settings, conversations, contacts, notifications):
    router.include_router(module.router)
