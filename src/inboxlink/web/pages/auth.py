"""First-run set-up, sign in, sign out."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from inboxlink.errors import AppError
from inboxlink.security.throttle import LoginThrottle
from inboxlink.services import users
from inboxlink.web.deps import SESSION_COOKIE, Db, page_user
from inboxlink.web.pages.common import check_csrf, redirect, render

router = APIRouter()
FormStr = Annotated[str, Form()]


def _signed_in_response(token: str) -> Response:
    response = redirect("/settings/email")
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", max_age=14 * 24 * 3600
    )
    return response


@router.get("/")
async def home(request: Request, db: Db) -> Response:
    if await users.needs_setup(db):
        return redirect("/setup")
    if await page_user(request, db) is None:
        return redirect("/login")
    return redirect("/settings/email")


@router.get("/setup")
async def setup_form(request: Request, db: Db) -> Response:
    if not await users.needs_setup(db):
        return redirect("/login")
    return render(request, "setup.html", {"values": {}})


@router.post("/setup")
async def setup_submit(
    request: Request,
    db: Db,
    csrf_token: FormStr,
    account_name: FormStr,
    name: FormStr,
    email: FormStr,
    password: FormStr,
) -> Response:
    check_csrf(request, csrf_token)
    values = {"account_name": account_name, "name": name, "email": email}
    try:
        user = await users.create_account(
            db, account_name=account_name, email=email, password=password, name=name
        )
    except AppError as error:
        return render(request, "setup.html", {"values": values, "error": error}, status=422)
    return _signed_in_response(await users.start_session(db, user))


@router.get("/login")
async def login_form(request: Request, db: Db) -> Response:
    if await users.needs_setup(db):
        return redirect("/setup")
    return render(request, "login.html", {"values": {}})


@router.post("/login")
async def login_submit(
    request: Request, db: Db, csrf_token: FormStr, email: FormStr, password: FormStr
) -> Response:
    check_csrf(request, csrf_token)
    throttle = _throttle(request)
    ip = request.client.host if request.client else ""
    context: dict[str, object] = {"values": {"email": email}}
    wait = throttle.retry_after(email, ip)
    if wait is not None:
        context["error"] = AppError(
            "too_many_attempts",
            f"Too many failed sign-ins. Try again in {math.ceil(wait / 60)} minute(s).",
            retry_after=wait,
        )
        response = render(request, "login.html", context, status=429)
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        user = await users.authenticate(db, email, password)
    except AppError as error:
        throttle.failed(email, ip)
        context["error"] = error
        return render(request, "login.html", context, status=401)
    throttle.succeeded(email, ip)
    return _signed_in_response(await users.start_session(db, user))


def _throttle(request: Request) -> LoginThrottle:
    """One throttle per app (per web process); see security/throttle.py."""
    state = request.app.state
    if not hasattr(state, "login_throttle"):
        state.login_throttle = LoginThrottle()
    throttle: LoginThrottle = state.login_throttle
    return throttle


@router.post("/logout")
async def logout(request: Request, db: Db, csrf_token: FormStr) -> Response:
    check_csrf(request, csrf_token)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await users.end_session(db, token)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response
