"""Pointing the product at the Google and Microsoft emulators, and walking their consent."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from inboxlink.config import Settings
from tests.emulators.google import GoogleEmulator
from tests.emulators.microsoft import MicrosoftEmulator
from tests.support.accounts import Person

PUBLIC = "http://testserver"


def cloud_settings(
    base: Settings, google: GoogleEmulator, microsoft: MicrosoftEmulator, **extra: Any
) -> Settings:
    """``base`` with both clouds configured to the emulators (which accept our callbacks)."""
    for emulator, name in ((google, "gmail"), (microsoft, "microsoft")):
        emulator.redirect_uris.add(f"{PUBLIC}/oauth/{name}/callback")
    values = base.model_dump()
    values.update(
        public_url=PUBLIC,
        google_client_id=google.client_id,
        google_client_secret=google.client_secret,
        google_accounts_url=google.url,
        google_api_url=google.url,
        gmail_poll_seconds=0.5,
        microsoft_client_id=microsoft.client_id,
        microsoft_client_secret=microsoft.client_secret,
        microsoft_login_url=microsoft.url,
        microsoft_graph_url=microsoft.url,
        poll_seconds=0.5,
        connect_timeout_seconds=5,
        dns_nameservers="127.0.0.1:9",
        dns_timeout_seconds=0.2,
    )
    values.update(extra)
    return Settings(**values)


class ConsentForm(HTMLParser):
    """What a browser would submit from an emulator's consent page."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.action = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = values.get("action", "")
        if tag == "input" and values.get("type") == "hidden":
            self.fields[values["name"]] = values["value"]


async def connect_oauth(
    api: httpx.AsyncClient, person: Person, provider: str, account: str, *, allow: bool = True
) -> httpx.Response:
    """POST oauth/start, answer the consent page as the user, follow back to the callback."""
    started = await api.post(
        "/api/v1/inboxes/oauth/start",
        json={"provider": provider, "email": account},
        headers=person.headers,
    )
    assert started.status_code == 200, started.text
    return await consent(api, started.json()["authorization_url"], account, allow=allow)


async def consent(
    api: httpx.AsyncClient, url: str, account: str, *, allow: bool = True
) -> httpx.Response:
    """Answer an emulator's consent page at ``url`` and follow back to the product's callback."""
    return await api.get(await callback_url(url, account, allow=allow))


async def callback_url(url: str, account: str, *, allow: bool = True) -> str:
    """Answer an emulator's consent page at ``url``; the product's callback path and query."""
    async with httpx.AsyncClient() as browser:
        page = await browser.get(url)
        assert page.status_code == 200, page.text
        form = ConsentForm()
        form.feed(page.text)
        answer = {
            **form.fields,
            "account": account,
            "decision": "allow" if allow else "deny",
            "action": "accept" if allow else "cancel",
        }
        back = await browser.post(urljoin(url, form.action) if form.action else url, data=answer)
    assert back.status_code == 302, back.text
    location = urlsplit(back.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == PUBLIC
    return f"{location.path}?{location.query}"


async def my_inboxes(api: httpx.AsyncClient, person: Person) -> list[dict[str, Any]]:
    response = await api.get("/api/v1/inboxes", headers=person.headers)
    items: list[dict[str, Any]] = response.json()["items"]
    return items
