"""Header injection in every field that reaches an outgoing message; CSRF on every
state-changing page form (enumerated from the app's router); no open redirect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import update

from inboxlink.runtime import Runtime
from inboxlink.store.tables import User
from inboxlink.web.app import create_app
from tests.support.accounts import Team
from tests.support.api_helpers import add_inbox

INJECTIONS = ["x\r\nBcc: victim@evil.test", "x\nX-Injected: 1", "x\rY", "x\x00y", "x\x7fy"]


async def _send(api: httpx.AsyncClient, team: Team, **fields: Any) -> httpx.Response:
    inbox_id = fields.pop("inbox_id")
    body = {"inbox_id": inbox_id, "to": ["ann@example.test"], "subject": "Hi", "text": "Hello"}
    body.update(fields)
    return await api.post("/api/v1/emails", json=body, headers=team.member.headers)


@pytest.mark.parametrize("payload", INJECTIONS)
async def test_header_injection_in_every_outgoing_field_is_refused(
    api: httpx.AsyncClient, runtime: Runtime, team: Team, payload: str
) -> None:
    inbox_id = await add_inbox(runtime, team.member.id, team.member.account_id, team.member.email)
    for field, value in [
        ("subject", payload),
        ("to", [f"ann@example.test{payload}"]),
        ("to", [payload + "@example.test"]),
        ("cc", [f"bob@example.test{payload}"]),
        ("bcc", [f"carl@example.test{payload}"]),
        ("in_reply_to", f"<a@b>{payload}"),
        ("from", f"{team.member.email}{payload}"),
    ]:
        response = await _send(api, team, inbox_id=inbox_id, **{field: value})
        assert response.status_code == 422, (field, response.text)
        code = response.json()["error"]["code"]
        assert code in {"invalid_header", "invalid_email", "invalid_from", "validation_error"}, (
            field,
            response.text,
        )
    # The From display name comes from the user's profile: poison it and send.
    if "\x00" in payload and not runtime.settings.is_sqlite:
        return  # PostgreSQL cannot store a NUL in a name at all
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(User).where(User.id == team.member.id).values(name=f"Mallory{payload}")
        )
    response = await _send(api, team, inbox_id=inbox_id)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_header", response.text


async def test_a_clean_email_is_still_accepted(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    inbox_id = await add_inbox(runtime, team.member.id, team.member.account_id, team.member.email)
    response = await _send(api, team, inbox_id=inbox_id, subject="Ünïcødé ✓ — عربى", cc=[])
    assert response.status_code == 202, response.text


def _routes(routes: Any, prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every endpoint, through included routers of any nesting."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            yield prefix + route.path, set(route.methods)


def _page_post_routes(runtime: Runtime) -> list[str]:
    """Every POST route of the server-rendered pages (not the token-authenticated JSON API)."""
    found = {
        path
        for path, methods in _routes(create_app(runtime).routes)
        if "POST" in methods and not path.startswith(("/api/", "/t/"))
    }
    return sorted(found)


async def test_every_page_form_refuses_a_post_without_or_with_a_wrong_csrf_token(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    from inboxlink.services import users
    from inboxlink.web.deps import SESSION_COOKIE

    async with runtime.sessions() as session:
        user = await session.get(User, team.admin.id)
        assert user is not None
        session_token = await users.start_session(session, user)
        await session.commit()
    routes = _page_post_routes(runtime)
    assert len(routes) >= 5, routes
    checked = []
    for path in routes:
        url = path
        for name in ("{inbox_id}", "{contact_id}", "{channel_id}", "{conversation_id}"):
            url = url.replace(name, "1")
        url = "/".join("1" if part.startswith("{") else part for part in url.split("/"))
        for cookies in ({}, {SESSION_COOKIE: session_token}):
            for token in (None, "", "forged-" + "0" * 58):
                data = {} if token is None else {"csrf_token": token}
                api.cookies.clear()
                for key, value in cookies.items():
                    api.cookies.set(key, value)
                response = await api.post(url, data=data)
                # Refused: 403 csrf, 422 missing field, 401/303 to login, 404 unknown object.
                assert response.status_code in {303, 401, 403, 404, 405, 422}, (
                    path,
                    response.status_code,
                    response.text[:300],
                )
                if response.status_code == 303:
                    assert response.headers["location"].startswith("/login"), path
        checked.append(path)
    print(f"[figures] csrf: {len(checked)} page POST routes refused without/with a wrong token")


async def test_no_open_redirect(api: httpx.AsyncClient, runtime: Runtime, team: Team) -> None:
    """Every redirect the pages send stays on this host, whatever ``next=`` says."""
    for target in ("https://evil.test/", "//evil.test/", "/\\evil.test", "javascript:alert(1)"):
        for path in ("/", "/login", "/setup", "/settings/email", "/logout"):
            response = await api.get(path, params={"next": target, "redirect": target})
            location = response.headers.get("location", "")
            if response.is_redirect:
                assert location.startswith("/") and not location.startswith("//"), location
                assert not location.startswith("/\\"), location
                assert "evil.test" not in location, location
