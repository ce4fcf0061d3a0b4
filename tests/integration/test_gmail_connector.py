"""OAuth with Google and the Gmail connector, against the Google emulator on loopback."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest

from inboxlink.config import Settings
from inboxlink.mail.headers import Mailbox
from inboxlink.mail.outgoing import OutgoingMessage, new_message_id
from inboxlink.providers.base import Batch, Folder
from inboxlink.providers.errors import ConnectorError
from inboxlink.providers.gmail import GmailConnector
from inboxlink.providers.google import authorization_error, google_client
from inboxlink.providers.oauth import (
    TokenKeeper,
    TokenSet,
    authorization_url,
    exchange_code,
    new_pkce_pair,
    refresh_tokens,
)
from tests.emulators.google import GoogleEmulator, message_bytes
from tests.support.google_fixtures import google_emulator  # noqa: F401 - fixture

ALICE = "alice@gmail.test"
BOB = "bob@gmail.test"
INBOX = Folder("INBOX", "inbox")
SENT = Folder("SENT", "sent")


@pytest.fixture
def emu(google_emulator: GoogleEmulator) -> GoogleEmulator:  # noqa: F811
    google_emulator.add_account(ALICE, "Alice", aliases={"sales@alice.test": "Alice Sales"})
    google_emulator.add_account(BOB, "Bob")
    return google_emulator


@pytest.fixture
def settings(emu: GoogleEmulator, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        public_url="http://127.0.0.1:8025",
        google_client_id=emu.client_id,
        google_client_secret=emu.client_secret,
        google_accounts_url=emu.url,
        google_api_url=emu.url,
        google_extra_scopes="https://www.googleapis.com/auth/calendar.events",
        gmail_poll_seconds=0.1,
        connect_timeout_seconds=5,
        sync_batch_size=2,
    )


def redirect_uri(settings: Settings) -> str:
    return f"{settings.public_url}/oauth/gmail/callback"


async def consent(
    emu: GoogleEmulator, settings: Settings, email: str, *, decision: str = "allow"
) -> tuple[dict[str, str], str, str]:
    """Open the authorization URL, answer the consent form; the callback's query + PKCE."""
    emu.redirect_uris.add(redirect_uri(settings))
    verifier, challenge = new_pkce_pair()
    url = authorization_url(
        google_client(settings, reconnect=False),
        redirect_uri=redirect_uri(settings),
        state="state-123",
        code_challenge=challenge,
        login_hint=email,
    )
    async with httpx.AsyncClient() as browser:
        page = await browser.get(url)
        assert page.status_code == 200, page.text
        form = {
            k: html.unescape(v) for k, v in re.findall(r'name="(\w+)" value="([^"]*)"', page.text)
        }
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action is not None
        form.update(account=email, decision=decision)
        answer = await browser.post(urljoin(url, action.group(1)), data=form)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(redirect_uri(settings) + "?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return query, verifier, challenge


async def connect(emu: GoogleEmulator, settings: Settings, email: str = ALICE) -> TokenSet:
    query, verifier, _ = await consent(emu, settings, email)
    return await exchange_code(
        google_client(settings, reconnect=False),
        code=query["code"],
        redirect_uri=redirect_uri(settings),
        code_verifier=verifier,
        timeout=5,
    )


async def connector(emu: GoogleEmulator, settings: Settings, email: str = ALICE) -> GmailConnector:
    token = await connect(emu, settings, email)
    keeper = TokenKeeper(google_client(settings, reconnect=False), token, timeout=5)
    return GmailConnector(settings, keeper)


async def collect(gmail: GmailConnector, folder: Folder, checkpoint: dict | None) -> list[Batch]:
    return [batch async for batch in gmail.changes(folder, checkpoint)]


def subjects(batches: list[Batch]) -> list[str]:
    return [m.headers.subject for b in batches for m in b.messages]


# -- OAuth ---------------------------------------------------------------------------------


async def test_code_flow_with_pkce_state_and_one_consent(
    emu: GoogleEmulator, settings: Settings
) -> None:
    url = authorization_url(
        google_client(settings, reconnect=False),
        redirect_uri=redirect_uri(settings),
        state="s",
        code_challenge="c" * 43,
    )
    params = parse_qs(urlsplit(url).query)
    assert params["access_type"] == ["offline"]
    assert params["include_granted_scopes"] == ["true"]
    assert params["code_challenge_method"] == ["S256"]
    scopes = params["scope"][0].split()
    assert "https://www.googleapis.com/auth/gmail.modify" in scopes
    assert "https://www.googleapis.com/auth/calendar.events" in scopes  # R2: one consent
    reconnect = google_client(settings, reconnect=True).extra_authorize_params
    assert reconnect["prompt"] == "consent"

    query, verifier, _ = await consent(emu, settings, ALICE)
    assert query["state"] == "state-123"
    client = google_client(settings, reconnect=False)
    with pytest.raises(ConnectorError) as wrong:
        await exchange_code(
            client,
            code=query["code"],
            redirect_uri=redirect_uri(settings),
            code_verifier=new_pkce_pair()[0],
            timeout=5,
        )
    assert wrong.value.code == "oauth_failed"

    query, verifier, _ = await consent(emu, settings, ALICE)
    token = await exchange_code(
        client,
        code=query["code"],
        redirect_uri=redirect_uri(settings),
        code_verifier=verifier,
        timeout=5,
    )
    assert token.refresh_token and token.access_token
    assert "gmail.send" in token.scope
    assert token.access_token not in repr(token)
    assert TokenSet.from_dict(token.to_dict()) == token
    with pytest.raises(ConnectorError):  # a code is single-use
        await exchange_code(
            client,
            code=query["code"],
            redirect_uri=redirect_uri(settings),
            code_verifier=verifier,
            timeout=5,
        )


async def test_refresh_ahead_of_expiry_reports_new_tokens(
    emu: GoogleEmulator, settings: Settings
) -> None:
    emu.access_token_seconds = 120  # inside the 5-minute margin
    token = await connect(emu, settings)
    emu.access_token_seconds = 3600
    sealed: list[TokenSet] = []

    async def seal(fresh: TokenSet) -> None:
        sealed.append(fresh)

    keeper = TokenKeeper(
        google_client(settings, reconnect=False), token, timeout=5, on_refresh=seal
    )
    fresh = await keeper.access_token()
    assert fresh != token.access_token
    assert await keeper.access_token() == fresh
    assert [t.access_token for t in sealed] == [fresh]
    assert sealed[0].refresh_token == token.refresh_token  # Google omits it on refresh
    assert emu.requests["POST /token"] == 2


async def test_rejected_access_token_is_renewed_once(
    emu: GoogleEmulator, settings: Settings
) -> None:
    gmail = await connector(emu, settings)
    emu.expire_access_tokens()
    assert (await gmail.verify()).email == ALICE
    assert emu.requests["POST /token"] == 2
    await gmail.close()


async def test_revoked_grant_is_final_and_asked_once(
    emu: GoogleEmulator, settings: Settings
) -> None:
    emu.access_token_seconds = 60
    gmail = await connector(emu, settings)
    emu.revoke_grants(ALICE)
    for _ in range(3):
        with pytest.raises(ConnectorError) as failed:
            await gmail.verify()
        assert failed.value.code == "token_revoked"
        assert failed.value.transient is False
    assert emu.requests["POST /token"] == 2  # the exchange and exactly one refresh
    await gmail.close()


async def test_advanced_protection_and_denial_are_named(
    emu: GoogleEmulator, settings: Settings
) -> None:
    emu.advanced_protection.add(ALICE)
    query, _, _ = await consent(emu, settings, ALICE)
    assert "code" not in query and query["state"] == "state-123"
    error = authorization_error(query["error"], query.get("error_description"))
    assert error.code == "advanced_protection"
    assert "Advanced Protection" in error.message

    query, _, _ = await consent(emu, settings, BOB, decision="deny")
    assert authorization_error(query["error"]).code == "consent_denied"


async def test_consent_page_checks_client_and_redirect(
    emu: GoogleEmulator, settings: Settings
) -> None:
    _, challenge = new_pkce_pair()
    client = google_client(settings, reconnect=False)
    unregistered = authorization_url(
        client, redirect_uri="http://127.0.0.1:1/elsewhere", state="s", code_challenge=challenge
    )
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(unregistered)).status_code == 400


async def test_unticked_permission_is_named(emu: GoogleEmulator, settings: Settings) -> None:
    emu.withheld_scopes.add("https://www.googleapis.com/auth/gmail.send")
    gmail = await connector(emu, settings)
    with pytest.raises(ConnectorError) as partial:
        await gmail.verify()
    assert partial.value.code == "scope_missing"
    await gmail.close()


async def test_unconfigured_google_says_how_to_configure(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError) as missing:
        google_client(Settings(data_dir=tmp_path, google_client_id=""), reconnect=False)
    assert missing.value.code == "provider_not_configured"
    assert "INBOXLINK_GOOGLE_CLIENT_ID" in missing.value.message


# -- Gmail ---------------------------------------------------------------------------------


async def test_verify_reports_address_and_send_as_aliases(
    emu: GoogleEmulator, settings: Settings
) -> None:
    gmail = await connector(emu, settings)
    info = await gmail.verify()
    assert info.email == ALICE
    assert [(a.email, a.name) for a in info.aliases] == [("sales@alice.test", "Alice Sales")]
    assert [f.name for f in info.folders] == ["INBOX", "SENT"]
    await gmail.close()


async def test_backfill_pages_then_history(emu: GoogleEmulator, settings: Settings) -> None:
    emu.deliver(ALICE, message_bytes(BOB, ALICE, "ancient"), age_days=200)
    for n in range(3):
        emu.deliver(ALICE, message_bytes(BOB, ALICE, f"recent {n}"), age_days=3 - n)
    gmail = await connector(emu, settings)

    batches = await collect(gmail, INBOX, None)
    assert subjects(batches) == ["recent 2", "recent 1", "recent 0"]  # newest first
    assert [len(b.messages) for b in batches] == [2, 1]
    assert [b.backfill_complete for b in batches] == [False, True]
    assert batches[0].total == 3 and "backfill" in batches[0].checkpoint
    assert "backfill" not in batches[-1].checkpoint

    resumed = await collect(gmail, INBOX, batches[0].checkpoint)  # after a crash mid-backfill
    assert subjects(resumed) == ["recent 0"]
    stale = {**batches[0].checkpoint, "backfill": {"page": "expired", "total": 3}}
    assert len(subjects(await collect(gmail, INBOX, stale))) == 3  # starts the listing again

    new_id = emu.deliver(ALICE, message_bytes(BOB, ALICE, "fresh"))
    later = await collect(gmail, INBOX, batches[-1].checkpoint)
    assert subjects(later) == ["fresh"]
    assert await collect(gmail, INBOX, later[-1].checkpoint) == []

    raw = await gmail.fetch_raw(INBOX, [new_id, "ffffffffffffffff"])
    assert list(raw) == [new_id] and b"Subject: fresh" in raw[new_id]

    emu.delete(ALICE, new_id)
    gone = await collect(gmail, INBOX, later[-1].checkpoint)
    assert gone[-1].deleted == [new_id]
    await gmail.close()


async def test_expired_history_id_resyncs_from_scratch(
    emu: GoogleEmulator, settings: Settings
) -> None:
    emu.deliver(ALICE, message_bytes(BOB, ALICE, "one"), age_days=1)
    gmail = await connector(emu, settings)
    first = await collect(gmail, INBOX, None)
    emu.expire_history(ALICE)
    emu.deliver(ALICE, message_bytes(BOB, ALICE, "two"))
    again = await collect(gmail, INBOX, first[-1].checkpoint)
    assert sorted(subjects(again)) == ["one", "two"]
    assert again[-1].backfill_complete
    # once after the first backfill, once answered 404: then a backfill, no retry loop
    assert emu.requests["GET /gmail/v1/users/me/history"] == 2
    await gmail.close()


async def test_wait_for_change_polls_history(emu: GoogleEmulator, settings: Settings) -> None:
    gmail = await connector(emu, settings)
    await collect(gmail, INBOX, None)
    assert await gmail.wait_for_change(0.3) is False
    emu.deliver(ALICE, message_bytes(BOB, ALICE, "ping"))
    assert await gmail.wait_for_change(5) is True
    await gmail.close()


async def test_throttling_is_honoured_and_bounded(emu: GoogleEmulator, settings: Settings) -> None:
    gmail = await connector(emu, settings)
    emu.throttle(2, retry_after="1")
    started = time.monotonic()
    assert (await gmail.verify()).email == ALICE
    assert time.monotonic() - started >= 2
    assert emu.requests["GET /gmail/v1/users/me/profile"] == 3

    emu.throttle(1000, retry_after="0")
    before = sum(emu.requests.values())
    with pytest.raises(ConnectorError) as throttled:
        await gmail.verify()
    assert throttled.value.code == "provider_throttled" and throttled.value.transient
    assert sum(emu.requests.values()) - before == 5  # no retry storm
    await gmail.close()


async def test_send_from_alias_reaches_other_mailbox(
    emu: GoogleEmulator, settings: Settings
) -> None:
    gmail = await connector(emu, settings)
    await gmail.verify()
    message = OutgoingMessage(
        sender=Mailbox("sales@alice.test", "Alice Sales"),
        to=(Mailbox(BOB, "Bob"),),
        bcc=(Mailbox(ALICE),),
        subject="Offer",
        message_id=new_message_id("sales@alice.test"),
        text="Hi Bob",
    )
    assert not await gmail.was_sent(message.message_id)
    ref = await gmail.send(message)
    assert ref.saved_to_sent and ref.message_id == message.message_id
    await gmail.save_to_sent([message])  # Gmail filed it already: nothing to do
    assert await gmail.was_sent(message.message_id)

    received = [m for m in emu.mailboxes[BOB].messages.values() if "INBOX" in m.labels]
    assert len(received) == 1
    assert "sales@alice.test" in received[0].header("From")
    assert received[0].header("Bcc") == ""
    bob = await connector(emu, settings, BOB)
    assert subjects(await collect(bob, INBOX, None)) == ["Offer"]
    assert subjects(await collect(gmail, SENT, None)) == ["Offer"]
    await gmail.close()
    await bob.close()


async def test_revoke_gives_the_grant_back(emu: GoogleEmulator, settings: Settings) -> None:
    gmail = await connector(emu, settings)
    token = gmail._keeper.token
    await gmail.revoke()
    assert emu.requests["POST /revoke"] == 1
    assert emu.revoked_tokens == [token.refresh_token]
    with pytest.raises(ConnectorError) as revoked:
        await refresh_tokens(google_client(settings, reconnect=False), token, timeout=5)
    assert revoked.value.code == "token_revoked"
    await gmail.revoke()  # already revoked counts as done
    await gmail.close()


async def test_stopped_provider_is_unreachable_and_transient(
    emu: GoogleEmulator, settings: Settings
) -> None:
    gmail = await connector(emu, settings)
    token = gmail._keeper.token
    emu.stop()
    with pytest.raises(ConnectorError) as api:
        await gmail.verify()
    with pytest.raises(ConnectorError) as oauth:
        await refresh_tokens(google_client(settings, reconnect=False), token, timeout=5)
    for failure in (api.value, oauth.value):
        assert failure.code == "provider_unreachable" and failure.transient
    await gmail.close()
