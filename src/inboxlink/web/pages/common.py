"""Shared page machinery: templates, the signed-in user, CSRF on every form post."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from inboxlink.domain.permissions import Actor, is_admin
from inboxlink.errors import AppError
from inboxlink.notifications.inbox import unread_count
from inboxlink.security.tokens import csrf_token, csrf_valid
from inboxlink.services import users
from inboxlink.store.tables import User
from inboxlink.web.deps import SESSION_COOKIE, Db, page_user

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
ANON_CSRF_COOKIE = "inboxlink_csrf"


class LoginRequired(Exception):
    """Raised by page dependencies; turned into a redirect to the login page."""


def csrf_for(request: Request) -> str:
    """The token a form must echo: an HMAC of the session, or a random double-submit cookie."""
    session = request.cookies.get(SESSION_COOKIE)
    key: str = request.app.state.runtime.signing_key
    if session:
        return csrf_token(session, key)
    existing = request.cookies.get(ANON_CSRF_COOKIE)
    token = existing or secrets.token_urlsafe(24)
    request.state.new_anon_csrf = None if existing else token
    return token


def check_csrf(request: Request, submitted: str) -> None:
    session = request.cookies.get(SESSION_COOKIE)
    key: str = request.app.state.runtime.signing_key
    if session:
        valid = csrf_valid(session, key, submitted)
    else:
        cookie = request.cookies.get(ANON_CSRF_COOKIE, "")
        valid = bool(cookie) and secrets.compare_digest(cookie, submitted)
    if not valid:
        raise AppError(
            "csrf_failed",
            "This form has expired or did not come from inboxlink. Reload the page and try again.",
            status=403,
        )


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    values = {"request": request, "csrf_token": csrf_for(request), **(context or {})}
    response = templates.TemplateResponse(request, template, values, status_code=status)
    new_token = getattr(request.state, "new_anon_csrf", None)
    if new_token:
        response.set_cookie(ANON_CSRF_COOKIE, new_token, httponly=True, samesite="lax")
    return response


async def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    """The error page, with the navigation when someone is signed in (so they can go on)."""
    runtime = request.app.state.runtime
    async with runtime.sessions() as session:
        user = await page_user(request, session)
        unread = await unread_count(session, users.actor_of(user)) if user else 0
    context = {"status": status, "message": message, "user": user, "unread": unread}
    return render(request, "error.html", context, status=status)


@dataclass(frozen=True, slots=True)
class PageContext:
    """The signed-in user of a page, with what the layout shows about them."""

    user: User
    actor: Actor
    unread: int

    def template_values(self, **extra: Any) -> dict[str, Any]:
        return {
            "user": self.user,
            "is_admin": is_admin(self.actor),
            "unread": self.unread,
            **extra,
        }


async def signed_in(request: Request, db: Db) -> PageContext:
    user = await page_user(request, db)
    if user is None:
        raise LoginRequired()
    actor = users.actor_of(user)
    return PageContext(user=user, actor=actor, unread=await unread_count(db, actor))


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request, _exc: Exception) -> Response:
    return redirect("/login")


SignedIn = Annotated[PageContext, Depends(signed_in)]
