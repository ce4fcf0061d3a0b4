"""Tracked email through real Postfix/Dovecot: pixel and signed links in what arrives, events
recorded (automatic ones apart), the sender notified once, tampered tokens refused."""

from __future__ import annotations

import asyncio
import re
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import httpx
import pytest

from inboxlink.config import Settings
from tests.integration.test_imap_inbox import connect_body
from tests.support.accounts import Team
from tests.support.api_helpers import add_contact, eventually, timeline
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailPki, new_user
from tests.support.postfix import Postfix

PUBLIC = "http://127.0.0.1:8025"


@pytest.fixture
def settings(settings: Settings, dns_server: DnsServer, mail_ca: MailPki) -> Settings:
    dns_server.start()
    values = settings.model_dump()
    values.update(
        dns_nameservers=dns_server.nameserver,
        extra_ca_file=mail_ca.ca_file,
        public_url=PUBLIC,
        tracking_automatic_seconds=1.0,
    )
    return Settings(**values)


async def test_open_and_click_are_recorded_and_tokens_cannot_be_forged(
    api: httpx.AsyncClient, runner: object, team: Team, dovecot: Dovecot, postfix: Postfix
) -> None:
    me, ann = new_user(dovecot), new_user(dovecot)
    h = team.member.headers
    inbox = await api.post("/api/v1/inboxes", json=connect_body(me, dovecot, postfix), headers=h)
    contact_id = await add_contact(api, team.member, ann.email)
    sent = await api.post(
        "/api/v1/emails",
        json={"inbox_id": inbox.json()["id"], "to": [ann.email], "subject": "Pricing",
              "text": "Our prices: https://example.test/pricing?plan=pro&x=1 — see you",
              "track": True},
        headers=h,
    )  # fmt: skip
    assert sent.status_code == 202, sent.text
    email = sent.json()
    raw = await asyncio.to_thread(dovecot.wait_for_message, ann.email, email["message_id"])
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    part = message.get_body(("html",))
    assert part is not None
    html = part.get_content()
    pixel = re.search(rf'src="{PUBLIC}(/t/o/[^"]+)"', html)
    link = re.search(rf'href="{PUBLIC}(/t/c/[^"]+)"', html)
    assert pixel and link, html
    assert "example.test/pricing" not in link.group(1)  # not readable, not enumerable

    # Right after sending, an open counts as probably automatic (and a proxy's always does).
    proxy = {"User-Agent": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"}
    opened = await api.get(pixel.group(1), headers=proxy)
    assert opened.status_code == 200 and opened.headers["content-type"] == "image/gif"
    await asyncio.sleep(1.2)
    person = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"}
    assert (await api.get(pixel.group(1), headers=person)).status_code == 200
    clicked = await api.get(link.group(1), headers=person)
    assert clicked.status_code == 302
    assert clicked.headers["location"] == "https://example.test/pricing?plan=pro&x=1"

    # Tampered, truncated or made-up tokens: 404 and no redirect.
    body, _, mac = link.group(1).removeprefix("/t/c/").partition(".")
    for token in (f"{body}.{mac[::-1]}", f"{body[:-2]}AA.{mac}", body, "1", pixel.group(1)[5:]):
        refused = await api.get(f"/t/c/{token}")
        assert refused.status_code == 404 and "location" not in refused.headers

    events = (await api.get(f"/api/v1/tracking/emails/{email['id']}", headers=h)).json()
    assert [(e["event"], e["probably_automatic"]) for e in events["events"]] == [
        ("clicked", False), ("opened", False), ("opened", True),
    ]  # fmt: skip
    on_contact = (await api.get(f"/api/v1/tracking/contacts/{contact_id}", headers=h)).json()
    assert len(on_contact["events"]) == 3
    # The same events are items of the contact's timeline, newest first.
    tracked = [i for i in await timeline(api, team.member, contact_id) if i["type"] == "tracking"]
    assert [(i["event"], i["probably_automatic"]) for i in tracked] == [
        ("clicked", False), ("opened", False), ("opened", True),
    ]  # fmt: skip
    assert tracked[0]["url"] == "https://example.test/pricing?plan=pro&x=1"
    assert (await api.get(f"/api/v1/tracking/emails/{email['id']}",
                          headers=team.other_member.headers)).status_code == 404  # fmt: skip

    async def notified() -> list[str]:
        notes = (await api.get("/api/v1/notifications", headers=h)).json()
        items = notes["items"] if isinstance(notes, dict) else notes
        return [n["kind"] for n in items if n["kind"].startswith("email_")]

    assert await eventually(notified) == ["email_open"]  # rate-limited: the click adds none
