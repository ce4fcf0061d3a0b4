"""Forms and the API with what people really type: right-to-left text, combining marks, emoji
in names, international domains (user@bücher.example) and SMTPUTF8 mailboxes (用户@例子.测试)
-- accepted, stored as one canonical address and sent correctly through Postfix (SMTPUTF8
only when needed) -- and oversize fields, wrong types, NULs and control characters, refused
with an error code and a message, never a 500."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from inboxlink.config import Settings
from inboxlink.runtime import Runtime
from inboxlink.store.tables import User
from inboxlink.web.app import create_app
from tests.support.accounts import PASSWORD, Person, Team
from tests.support.api_helpers import eventually
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailPki, new_user
from tests.support.postfix import Postfix
from tests.support.smtp_sink import Received, SmtpSink

IDN = "User@Bücher.example"
IDN_STORED = "user@xn--bcher-kva.example"
UTF8 = "用户@例子.测试"
UTF8_STORED = "用户@xn--fsqu00a.xn--0zwm56d"
NAME = "Zoë 😀 שלום e\u0301"  # Latin with diaeresis, emoji, Hebrew (RTL), a combining accent
# Arabic after a right-to-left mark, a combining accent, an emoji with a skin-tone modifier.
SUBJECT = "Grüße \u200fمرحبا e\u0301 👋🏽"  # noqa: RUF001


@pytest.fixture
def settings(settings: Settings, mail_ca: MailPki) -> Settings:
    values = settings.model_dump()
    values.update(
        extra_ca_file=mail_ca.ca_file, dns_nameservers="127.0.0.1:9", dns_timeout_seconds=0.2
    )
    return Settings(**values)


def _refused(response: httpx.Response, code: str | None = None) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    error = response.json()["error"]
    assert error["code"] and len(error["message"]) > 10, error
    assert code is None or error["code"] == code, error
    return str(error["code"])


async def test_contacts_api_accepts_every_script_and_refuses_what_cannot_be_stored(
    api: httpx.AsyncClient, team: Team
) -> None:
    h = team.member.headers
    idn = await api.post("/api/v1/contacts", json={"email": IDN, "name": NAME}, headers=h)
    assert idn.status_code == 201, idn.text
    assert idn.json()["email"] == IDN_STORED and idn.json()["name"] == NAME
    utf8 = await api.post("/api/v1/contacts", json={"email": UTF8, "name": "שלום"}, headers=h)
    assert utf8.status_code == 201 and utf8.json()["email"] == UTF8_STORED, utf8.text
    # Either spelling of the domain finds the one contact; adding it again is a conflict.
    for spelling in ("user@bücher.example", IDN_STORED, "USER@BÜCHER.EXAMPLE"):
        found = await api.get("/api/v1/contacts", params={"email": spelling}, headers=h)
        assert found.status_code == 200 and found.json()["id"] == idn.json()["id"], spelling
    again = await api.post("/api/v1/contacts", json={"email": IDN_STORED}, headers=h)
    _refused(again, "contact_exists")

    codes = {}
    for label, body in {
        "no local part": {"email": "@例子.测试"},
        "two @": {"email": "a@@b.example"},
        "empty label": {"email": "user@bücher..example"},
        "address over 320": {"email": "a@" + "b" * 330 + ".example"},
        "name over 200": {"email": "n1@a.example", "name": "ü" * 201},
        "NUL in name": {"email": "n2@a.example", "name": "Ann\x00"},
        "line break in name": {"email": "n3@a.example", "name": "Ann\r\nBcc: x@y.example"},
        "number as email": {"email": 12345},
        "list as email": {"email": ["a@b.example"]},
        "object as name": {"email": "n4@a.example", "name": {"first": "Ann"}},
        "lone surrogate": '{"email": "n5@a.example", "name": "\\ud800"}',
    }.items():
        if isinstance(body, str):
            sent = await api.post(
                "/api/v1/contacts", content=body, headers={**h, "Content-Type": "application/json"}
            )
        else:
            sent = await api.post("/api/v1/contacts", json=body, headers=h)
        codes[label] = _refused(sent)
    print(f"[figures] contact input refused: {codes}")


async def _sign_in(runtime: Runtime, person: Person) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(runtime)), base_url="http://testserver"
    )
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    await client.post(
        "/login", data={"csrf_token": token.group(1), "email": person.email, "password": PASSWORD}
    )
    return client


async def test_the_contact_form_keeps_unicode_and_refuses_oversize_and_controls(
    runtime: Runtime, team: Team
) -> None:
    """The HTML form has no schema limits of its own: the service checks what it stores."""
    browser = await _sign_in(runtime, team.member)
    try:
        page = await browser.get("/contacts")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text[:300]

        async def add(email: str, name: str) -> httpx.Response:
            data = {"csrf_token": token.group(1), "email": email, "name": name}  # type: ignore[union-attr]
            return await browser.post("/contacts", data=data)

        added = await add(UTF8, NAME)
        assert added.status_code == 303, added.text[:500]
        shown = await browser.get(added.headers["location"])
        assert NAME in shown.text and UTF8_STORED in shown.text
        statuses = {}
        for label, (email, name, code) in {
            "name of 5,000 characters": ("f1@a.example", "名" * 5000, "name_too_long"),
            "NUL in name": ("f2@a.example", "Ann\x00B", "invalid_name"),
            "address of 5,000 characters": ("a" * 5000 + "@a.example", "", "invalid_email"),
            "not an address": ("用户", "", "invalid_email"),
        }.items():
            refused = await add(email, name)
            assert refused.status_code == 422 and code in refused.text, (label, refused.text[:300])
            statuses[label] = code
        contact_url = added.headers["location"].split("#")[0]
        for label, (field, value, says) in {  # the error page shows the message with the fix
            "job title of 5,000 characters": ("job_title", "x" * 5000, "at most 200 characters"),
            "NUL in company": ("company", "Acme\x00", "company contains a line break or control"),
            "line break in phone": ("phone", "+46\n70", "phone contains a line break or control"),
        }.items():
            data = {"csrf_token": token.group(1), field: value}  # type: ignore[union-attr]
            refused = await browser.post(f"{contact_url}/details", data=data)
            assert refused.status_code == 422 and says in refused.text, (label, refused.text[:300])
            statuses[label] = says
    finally:
        await browser.aclose()
    print(f"[figures] contact form refused: {statuses}")


async def test_international_addresses_and_names_go_out_through_postfix(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    dovecot: Dovecot,
    make_postfix: Callable[..., Postfix],
) -> None:
    """Postfix relays the domains it does not host to a sink that offers SMTPUTF8 (Dovecot
    2.3's LMTP does not), where the envelope and bytes are checked."""
    me = new_user(dovecot)
    async with runtime.sessions() as session, session.begin():
        await session.execute(update(User).where(User.id == team.member.id).values(name=NAME))
    with SmtpSink() as sink:
        relay = make_postfix(relay_port=sink.port)
        body = {
            "kind": "personal",
            "provider": "imap",
            "email": me.email,
            "password": me.password,
            "imap": {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "starttls"},
            "smtp": {"host": "127.0.0.1", "port": relay.smtp_port, "security": "starttls"},
        }
        created = await api.post("/api/v1/inboxes", json=body, headers=team.member.headers)
        assert created.status_code == 201, created.text
        inbox_id = created.json()["id"]
        contact = await api.post(
            "/api/v1/contacts", json={"email": UTF8}, headers=team.member.headers
        )
        assert contact.status_code == 201

        async def send(to: list[str], marker: str, **extra: Any) -> httpx.Response:
            return await api.post(
                "/api/v1/emails",
                json={
                    "inbox_id": inbox_id,
                    "to": to,
                    "subject": SUBJECT,
                    "text": f"{marker}\nhéllo \u202eworld",
                    **extra,
                },
                headers=team.member.headers,
            )

        # International recipients: sent with SMTPUTF8, headers in UTF-8 (RFC 6532).
        queued = await send([UTF8, IDN], "marker-intl")
        assert queued.status_code == 202, queued.text
        intl = await asyncio.to_thread(sink.wait_for, b"marker-intl")
        _check(intl, {UTF8_STORED, IDN_STORED}, smtputf8=True)
        # ASCII recipients only: no SMTPUTF8 needed, names and subject as RFC 2047 words.
        plain = await send(["plain@elsewhere.example"], "marker-plain")
        assert plain.status_code == 202, plain.text
        ascii_only = await asyncio.to_thread(sink.wait_for, b"marker-plain")
        _check(ascii_only, {"plain@elsewhere.example"}, smtputf8=False)
        assert ascii_only.data.split(b"\r\n\r\n")[0].isascii()

        # What was sent is on the SMTPUTF8 contact's timeline, subject intact.
        async def logged() -> list[dict[str, Any]]:
            response = await api.get(
                f"/api/v1/contacts/{contact.json()['id']}/timeline", headers=team.member.headers
            )
            return list(response.json()["items"])

        items = await eventually(logged, timeout=30)
        assert [i["subject"] for i in items] == [SUBJECT]
        # A NUL in the text is refused before anything is queued.
        _refused(await send([IDN], "marker-nul\x00"), "invalid_body")
        _refused(await send([IDN], "x", subject="s" * 999), "invalid_request")
        _refused(await send(["用户@"], "x"), "invalid_email")
    print(
        f"[figures] unicode sending: SMTPUTF8 used={intl.smtputf8} for {sorted(intl.recipients)}"
        f", not used={not ascii_only.smtputf8} for ASCII recipients; subject, names intact"
    )


def _check(received: Received, recipients: set[str], *, smtputf8: bool) -> None:
    assert received.smtputf8 is smtputf8 and set(received.recipients) == recipients, received
    # RFC 6532 headers are UTF-8: the bytes parser would leave them as surrogate escapes.
    message = message_from_string(received.data.decode("utf-8"), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert str(message["Subject"]) == SUBJECT
    assert message["From"].addresses[0].display_name == NAME
    assert {a.addr_spec for a in message["To"].addresses} == recipients
