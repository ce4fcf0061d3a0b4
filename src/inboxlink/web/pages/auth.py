"""First-run set-up, sign in, sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from inboxlink.errors import AppError
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
    try:
        user = await users.authenticate(db, email, password)
    except AppError as error:
        context = {"values": {"email": email}, "error": error}
        return render(request, "login.html", context, status=401)
    return _signed_in_response(await users.start_session(db, user))


@router.post("/logout")
async def logout(request: Request, db: Db, csrf_token: FormStr) -> Response:
    check_csrf(request, csrf_token)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await users.end_session(db, token)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response
