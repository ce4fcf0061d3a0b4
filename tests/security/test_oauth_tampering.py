"""OAuth connection attacks against the product's callback, with the Google and Microsoft
emulators (both check PKCE S256 at their token endpoint): a forged state, a code swapped
into another pending state (wrong verifier), a replayed callback, a state completed from
another user's browser session or without the session that started it, an expired state.
Each is refused with a clear error and creates no inbox; the honest callback still works."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import func, select, update

from inboxlink.clock import utcnow
from inboxlink.config import Settings
from inboxlink.domain.enums import Provider
from inboxlink.runtime import Runtime
from inboxlink.security.tokens import new_token
from inboxlink.services import oauth_connect
from inboxlink.services.users import actor_of
from inboxlink.store.tables import Inbox, OAuthState, User
from inboxlink.web.app import create_app
from tests.emulators.google import GoogleEmulator
from tests.emulators.microsoft import MicrosoftEmulator
from tests.support.accounts import PASSWORD, Person, Team
from tests.support.cloud import PUBLIC, callback_url, cloud_settings

ACCOUNT = {"gmail": "jane@gmail.com", "microsoft": "joe@contoso.example"}


@pytest.fixture
def settings(
    settings: Settings, google_emulator: GoogleEmulator, microsoft_emulator: MicrosoftEmulator
) -> Settings:
    google_emulator.add_account(ACCOUNT["gmail"], "Jane")
    microsoft_emulator.add_account(ACCOUNT["microsoft"], "Joe")
    return cloud_settings(settings, google_emulator, microsoft_emulator)


@pytest.fixture
async def browser(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping browser on the product (sign in with ``_sign_in``)."""
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
        yield client


async def _sign_in(browser: httpx.AsyncClient, person: Person) -> None:
    page = await browser.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:300]
    signed = await browser.post(
        "/login", data={"csrf_token": token.group(1), "email": person.email, "password": PASSWORD}
    )
    assert signed.status_code == 303, signed.text


async def _authorized(api: httpx.AsyncClient, person: Person, provider: str) -> str:
    """Start through the API, consent at the emulator: the callback the provider sends."""
    started = await api.post(
        "/api/v1/inboxes/oauth/start",
        json={"provider": provider, "email": ACCOUNT[provider]},
        headers=person.headers,
    )
    assert started.status_code == 200, started.text
    return await callback_url(started.json()["authorization_url"], ACCOUNT[provider])


def _with(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return f"{parts.path}?{urlencode({**query, **changes})}"


def _param(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query)[name][0]


async def _inboxes(runtime: Runtime) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Inbox)) or 0)


def _refused(page: httpx.Response, code: str) -> int:
    """The error page names the error code; returns the status for the figures."""
    assert 400 <= page.status_code < 500 and code in page.text, (page.status_code, page.text)
    assert "Your inbox is connected" not in page.text
    return page.status_code


@pytest.mark.parametrize("provider", ["gmail", "microsoft"])
async def test_tampered_swapped_replayed_foreign_and_expired_callbacks_are_refused(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    runtime: Runtime,
    team: Team,
    provider: str,
) -> None:
    figures: dict[str, int] = {}
    # Forged state: no such pending authorization.
    honest = await _authorized(api, team.member, provider)
    forged = _with(honest, state=new_token())
    figures["forged"] = _refused(await api.get(forged), "oauth_state_invalid")

    # The code of one authorization slipped into another pending state of the same user:
    # the state is genuine, but the verifier it holds does not match the code's challenge.
    other = await _authorized(api, team.member, provider)
    swapped = await api.get(_with(other, code=_param(honest, "code")))
    figures["wrong_verifier"] = _refused(swapped, "oauth_failed")
    assert "invalid_grant" in swapped.text
    assert await _inboxes(runtime) == 0

    # A state started by one user, completed from another user's signed-in browser.
    foreign = await _authorized(api, team.member, provider)
    await _sign_in(browser, team.other_member)
    figures["other_user"] = _refused(await browser.get(foreign), "oauth_state_invalid")

    # A state started from a browser session, completed without that session.
    async with runtime.sessions() as session:
        user = await session.get(User, team.member.id)
        assert user is not None
    consent = await oauth_connect.start(
        runtime, actor_of(user), Provider(provider), email_hint=ACCOUNT[provider], via_api=False
    )
    no_session = await callback_url(consent, ACCOUNT[provider])
    figures["no_session"] = _refused(await api.get(no_session), "oauth_state_invalid")

    # An authorization left past its lifetime (15 minutes).
    late = await _authorized(api, team.member, provider)
    async with runtime.sessions() as session, session.begin():
        await session.execute(
            update(OAuthState).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    figures["expired"] = _refused(await api.get(late), "oauth_state_invalid")
    assert await _inboxes(runtime) == 0

    # The honest flow still connects, once: the same callback replayed is refused.
    fresh = await _authorized(api, team.member, provider)
    done = await api.get(fresh)
    assert done.status_code == 200 and "Your inbox is connected" in done.text, done.text[:500]
    figures["replayed"] = _refused(await api.get(fresh), "oauth_state_invalid")
    assert await _inboxes(runtime) == 1
    print(f"[figures] oauth tampering ({provider}): refused {figures}, inboxes created by them=0")
