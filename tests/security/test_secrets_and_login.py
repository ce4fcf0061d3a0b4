"""Secrets never stored or logged in plain text; the vault key file is 0600; sign-in is
throttled per address and IP."""

from __future__ import annotations

import logging
import re
import stat
from pathlib import Path

import httpx
import pytest

from inboxlink.config import Settings
from inboxlink.runtime import Runtime
from inboxlink.web.app import create_app
from tests.support.accounts import PASSWORD, Team
from tests.support.api_helpers import eventually
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailPki, new_user
from tests.support.postfix import Postfix
from tests.support.store import dump_rows


@pytest.fixture
def settings(settings: Settings, mail_ca: MailPki) -> Settings:
    values = settings.model_dump()
    values.update(
        extra_ca_file=mail_ca.ca_file, dns_nameservers="127.0.0.1:9", dns_timeout_seconds=0.2
    )
    return Settings(**values)


async def test_no_secret_in_the_database_or_the_logs(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    dovecot: Dovecot,
    postfix: Postfix,
    caplog: pytest.LogCaptureFixture,
    settings: Settings,
) -> None:
    caplog.set_level(logging.DEBUG)
    me = new_user(dovecot)
    created = await api.post(
        "/api/v1/inboxes",
        headers=team.member.headers,
        json={
            "kind": "personal",
            "provider": "imap",
            "email": me.email,
            "password": me.password,
            "imap": {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "starttls"},
            "smtp": {"host": "127.0.0.1", "port": postfix.smtp_port, "security": "starttls"},
        },
    )
    assert created.status_code == 201, created.text
    inbox_url = f"/api/v1/inboxes/{created.json()['id']}"

    async def synced() -> bool:
        body = (await api.get(inbox_url, headers=team.member.headers)).json()
        return bool(body["sync"]["backfill_complete"])

    assert await eventually(synced, timeout=30)
    # A wrong password once too (it must not be logged either).
    wrong = "Wr0ng-" + me.password
    refused = await api.post(
        "/api/v1/inboxes",
        headers=team.other_member.headers,
        json={
            "kind": "personal",
            "provider": "imap",
            "email": me.email,
            "password": wrong,
            "imap": {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "starttls"},
            "smtp": {"host": "127.0.0.1", "port": postfix.smtp_port, "security": "starttls"},
        },
    )
    assert refused.status_code in (409, 422), refused.text
    secrets = {
        "mailbox password": me.password,
        "wrong mailbox password": wrong,
        "user password": PASSWORD,
        **{f"api token of {p.email}": p.token for p in (team.admin, team.member, team.outsider)},
    }
    dump = await dump_rows(runtime)
    logs = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    raw = b""
    if settings.is_sqlite:
        for path in settings.data_dir.glob("inboxlink.db*"):  # the file, its WAL and SHM
            raw += path.read_bytes()
    found = [
        (name, where)
        for name, secret in secrets.items()
        for where, text in (("database", dump), ("logs", logs))
        if secret in text
    ] + [(name, "database file") for name, secret in secrets.items() if secret.encode() in raw]
    print(
        f"[figures] secrets: {len(secrets)} secrets checked in {len(dump)} chars of rows, "
        f"{len(raw)} file bytes, {len(caplog.records)} log records: found={found}"
    )
    assert found == []


def test_the_vault_key_file_is_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", secret_key=None)
    keys = settings.secret_keys()
    assert keys and re.fullmatch(r"[A-Za-z0-9_-]{40,}", keys[0])
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600


async def _login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    return await client.post(
        "/login", data={"csrf_token": token.group(1), "email": email, "password": password}
    )


async def test_sign_in_is_throttled_per_address_and_ip(runtime: Runtime, team: Team) -> None:
    app = create_app(runtime)  # one app: one web process and its throttle

    def client(ip: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(ip, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")

    async with client("192.0.2.1") as attacker, client("192.0.2.2") as colleague:
        for _ in range(5):
            assert (await _login(attacker, team.member.email, "guess guess")).status_code == 401
        blocked = await _login(attacker, team.member.email, PASSWORD)  # even the right one
        assert blocked.status_code == 429, blocked.text[:300]
        assert "Too many failed sign-ins" in blocked.text
        assert int(blocked.headers["Retry-After"]) > 0
        # The same address from another IP, and another address from this IP, still work.
        assert (await _login(colleague, team.member.email, PASSWORD)).status_code == 303
        assert (await _login(attacker, team.admin.email, PASSWORD)).status_code == 303
        # Spraying many addresses from one IP is stopped too.
        for n in range(30):
            await _login(attacker, f"nobody{n}@acme.test", "guess guess")
        sprayed = await _login(attacker, team.other_member.email, PASSWORD)
        assert sprayed.status_code == 429
