"""Gmail and Microsoft 365 personal inboxes through the product: OAuth start, consent at the
emulator, callback, sync onto timelines, sending (alias From), refusals, revocation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from inboxlink.config import Settings
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Notification
from tests.emulators.google import GoogleEmulator
from tests.emulators.microsoft import MicrosoftEmulator
from tests.support.accounts import Team
from tests.support.api_helpers import add_contact, eventually, timeline
from tests.support.cloud import cloud_settings, connect_oauth, my_inboxes
from tests.support.mail_samples import sample_message


@pytest.fixture
def settings(
    settings: Settings, google_emulator: GoogleEmulator, microsoft_emulator: MicrosoftEmulator
) -> Settings:
    return cloud_settings(settings, google_emulator, microsoft_emulator)


async def test_gmail_inbox_connects_syncs_sends_from_an_alias_and_revokes_on_remove(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    google_emulator: GoogleEmulator,
) -> None:
    emu = google_emulator
    emu.add_account("jane@gmail.com", "Jane", aliases={"sales@acme.example": "Acme Sales"})
    emu.add_account("ann@client.example", "Ann")
    emu.deliver(
        "jane@gmail.com",
        sample_message(
            "ann@client.example",
            "jane@gmail.com",
            message_id="<g1@client.example>",
            subject="Hi Jane",
        ),
    )
    ann_id = await add_contact(api, team.member, "ann@client.example")

    page = await connect_oauth(api, team.member, "gmail", "jane@gmail.com")
    assert page.status_code == 200 and "Your inbox is connected" in page.text
    [inbox] = await my_inboxes(api, team.member)
    assert inbox["provider"] == "gmail" and inbox["email"] == "jane@gmail.com"
    assert [a["email"] for a in inbox["aliases"]] == ["sales@acme.example"]

    async def logged(subject: str) -> bool:
        return any(i["subject"] == subject for i in await timeline(api, team.member, ann_id))

    assert await eventually(lambda: logged("Hi Jane"))
    emu.deliver(
        "jane@gmail.com",
        sample_message(
            "ann@client.example",
            "jane@gmail.com",
            message_id="<g2@client.example>",
            subject="Later",
        ),
    )
    assert await eventually(lambda: logged("Later"))

    sent = await api.post(
        "/api/v1/emails",
        json={
            "inbox_id": inbox["id"],
            "from": "sales@acme.example",
            "to": ["ann@client.example"],
            "subject": "From sales",
            "text": "Hello",
        },
        headers=team.member.headers,
    )
    assert sent.status_code == 202, sent.text

    def arrived() -> bytes | None:
        box = emu.mailboxes["ann@client.example"]
        return next((m.raw for m in box.messages.values() if b"From sales" in m.raw), None)

    async def delivered() -> bytes | None:
        return arrived()

    raw = await eventually(delivered)
    assert raw is not None and b"sales@acme.example" in raw.split(b"\r\n\r\n")[0]
    await eventually(lambda: logged("From sales"))
    assert [i["subject"] for i in await timeline(api, team.member, ann_id)].count("From sales") == 1

    h = team.member.headers
    assert (await api.post(f"/api/v1/inboxes/{inbox['id']}/disable", headers=h)).status_code == 200
    removed = await api.delete(f"/api/v1/inboxes/{inbox['id']}", headers=h)
    assert "Third-party apps" in " ".join(removed.json()["provider_steps"])
    assert emu.revoked_tokens  # G1: revoked at Google


async def test_a_revoked_grant_asks_for_reconnect_once_without_a_retry_storm(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    google_emulator: GoogleEmulator,
) -> None:
    emu = google_emulator
    emu.add_account("jane@gmail.com", "Jane")
    await connect_oauth(api, team.member, "gmail", "jane@gmail.com")
    [inbox] = await my_inboxes(api, team.member)

    async def live() -> bool:
        return bool((await my_inboxes(api, team.member))[0]["sync"]["backfill_complete"])

    assert await eventually(live)
    before = emu.requests["POST /token"]
    emu.revoke_grants("jane@gmail.com")
    emu.expire_access_tokens()

    async def needs_reconnect() -> bool:
        body = (await api.get(f"/api/v1/inboxes/{inbox['id']}", headers=team.member.headers)).json()
        return body["state"] == "needs_reconnect"

    assert await eventually(needs_reconnect)
    await eventually(lambda: _false(), timeout=2)  # let any retries happen
    assert emu.requests["POST /token"] - before == 1
    async with runtime.sessions() as session:
        kinds = list(await session.scalars(select(Notification.kind)))
    assert kinds == ["needs_reconnect"]


async def _false() -> bool:
    return False


async def test_refusals_say_what_went_wrong(
    api: httpx.AsyncClient,
    runtime: Runtime,
    team: Team,
    google_emulator: GoogleEmulator,
    microsoft_emulator: MicrosoftEmulator,
) -> None:
    google_emulator.add_account("guarded@gmail.com", "Guarded")
    google_emulator.advanced_protection.add("guarded@gmail.com")
    page = await connect_oauth(api, team.member, "gmail", "guarded@gmail.com")
    assert "advanced_protection" in page.text and "Advanced Protection" in page.text

    denied = await connect_oauth(api, team.member, "gmail", "guarded@gmail.com", allow=False)
    assert "consent_denied" in denied.text

    microsoft_emulator.add_account("desk@contoso.example", "Desk", shared=True)
    shared = await connect_oauth(api, team.member, "microsoft", "desk@contoso.example")
    assert "shared_mailbox_unsupported" in shared.text

    microsoft_emulator.add_account("gov@agency.example", "Gov", tenant="agency")
    microsoft_emulator.make_government("agency")
    gov = await connect_oauth(api, team.member, "microsoft", "gov@agency.example")
    assert "government_cloud_unsupported" in gov.text
    assert await my_inboxes(api, team.member) == []

    # A state is single use: replaying a callback is refused.
    microsoft_emulator.add_account("joe@contoso.example", "Joe")
    ok = await connect_oauth(api, team.member, "microsoft", "joe@contoso.example")
    assert "Your inbox is connected" in ok.text
    [inbox] = await my_inboxes(api, team.member)
    assert inbox["provider"] == "microsoft"
    replay = await api.get(str(ok.request.url))
    assert "oauth_state_invalid" in replay.text


async def test_an_unreachable_provider_delays_sync_and_unconfigured_oauth_says_so(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    google_emulator: GoogleEmulator,
) -> None:
    google_emulator.add_account("jane@gmail.com", "Jane")
    await connect_oauth(api, team.member, "gmail", "jane@gmail.com")
    google_emulator.stop()

    async def delayed() -> dict[str, Any] | None:
        [inbox] = await my_inboxes(api, team.member)
        error = inbox["sync"]["last_error"]
        return inbox if error and error["code"] == "provider_unreachable" else None

    inbox = await eventually(delayed)
    assert inbox["state"] == "connected"  # transient: not a reason to reconnect
    assert inbox["sync"]["state"] == "delayed"

    runtime.settings.google_client_id = ""
    unconfigured = await api.post(
        "/api/v1/inboxes/oauth/start", json={"provider": "gmail"}, headers=team.member.headers
    )
    assert unconfigured.status_code == 422
    assert unconfigured.json()["error"]["code"] == "provider_not_configured"
    assert "INBOXLINK_GOOGLE_CLIENT_ID" in unconfigured.json()["error"]["message"]
