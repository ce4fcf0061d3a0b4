"""The Microsoft connector against the Microsoft emulator on loopback: the OAuth code flow with
PKCE, verification and the P7 refusals, delta sync, throttling, sending, revoked grants and an
unreachable provider."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from inboxlink.config import Settings
from inboxlink.mail.headers import Mailbox
from inboxlink.mail.outgoing import OutgoingMessage, new_message_id
from inboxlink.providers.base import Batch, Checkpoint, Folder
from inboxlink.providers.errors import ConnectorError
from inboxlink.providers.graph import FOLDERS, GraphConnector
from inboxlink.providers.microsoft import check_tenant_cloud, microsoft_client, tenant_of
from inboxlink.providers.oauth import (
    OAuthClient,
    TokenKeeper,
    TokenSet,
    authorization_url,
    exchange_code,
    new_pkce_pair,
)
from tests.emulators.microsoft import DEFAULT_TENANT, MicrosoftEmulator, message_bytes
from tests.support.microsoft_fixtures import microsoft_emulator

__all__ = ["microsoft_emulator"]  # the fixture, until conftest registers the plugin

ALICE = "alice@contoso.test"
BOB = "bob@contoso.test"
INBOX, SENT = FOLDERS
REDIRECT = "http://127.0.0.1:8025/oauth/microsoft/callback"


@pytest.fixture
def emu(microsoft_emulator: MicrosoftEmulator) -> MicrosoftEmulator:
    microsoft_emulator.redirect_uris.add(REDIRECT)
    microsoft_emulator.add_account(ALICE, "Alice Adams", aliases=("a.adams@contoso.test",))
    microsoft_emulator.add_account(BOB, "Bob Brown")
    return microsoft_emulator


@pytest.fixture
def settings(emu: MicrosoftEmulator, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        microsoft_client_id=emu.client_id,
        microsoft_client_secret=emu.client_secret,
        microsoft_login_url=emu.url,
        microsoft_graph_url=emu.url,
        connect_timeout_seconds=5,
        sync_batch_size=2,
    )


class _Form(HTMLParser):
    """The sign-in page's form fields, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.accounts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "input" and values.get("type") == "hidden":
            self.fields[values["name"]] = values["value"]
        elif tag == "input" and values.get("type") == "radio":
            self.accounts.append(values["value"])


async def consent(url: str, account: str, action: str = "accept") -> dict[str, str]:
    """Open the sign-in page, pick ``account``, press Accept (or Cancel): the callback query."""
    async with httpx.AsyncClient() as browser:
        page = await browser.get(url)
        assert page.status_code == 200, page.text
        form = _Form()
        form.feed(page.text)
        assert account in form.accounts
        answer = await browser.post(url, data={**form.fields, "account": account, "action": action})
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def sign_in(settings: Settings, account: str, client: OAuthClient | None = None) -> TokenSet:
    client = client or microsoft_client(settings)
    verifier, challenge = new_pkce_pair()
    state = secrets.token_urlsafe(12)
    url = authorization_url(
        client, redirect_uri=REDIRECT, state=state, code_challenge=challenge, login_hint=account
    )
    answer = await consent(url, account)
    assert answer["state"] == state
    return await exchange_code(
        client, code=answer["code"], redirect_uri=REDIRECT, code_verifier=verifier, timeout=5
    )


@pytest.fixture
async def alice(settings: Settings) -> AsyncIterator[GraphConnector]:
    keeper = TokenKeeper(microsoft_client(settings), await sign_in(settings, ALICE), timeout=5)
    connector = GraphConnector(settings, keeper, expected_email=ALICE)
    yield connector
    await connector.close()


async def drain(
    connector: GraphConnector, folder: Folder, checkpoint: Checkpoint | None
) -> list[Batch]:
    return [batch async for batch in connector.changes(folder, checkpoint)]


# -- OAuth -------------------------------------------------------------------------------


async def test_code_flow_checks_pkce_and_yields_a_refreshable_grant(
    emu: MicrosoftEmulator, settings: Settings
) -> None:
    client = microsoft_client(settings)
    verifier, challenge = new_pkce_pair()
    url = authorization_url(client, redirect_uri=REDIRECT, state="s1", code_challenge=challenge)
    assert url.startswith(f"{emu.url}/common/oauth2/v2.0/authorize?")
    assert "offline_access" in parse_qs(urlsplit(url).query)["scope"][0]

    code = (await consent(url, ALICE))["code"]
    with pytest.raises(ConnectorError) as wrong:
        await exchange_code(
            client, code=code, redirect_uri=REDIRECT, code_verifier=verifier + "x", timeout=5
        )
    assert wrong.value.code == "oauth_failed"

    code = (await consent(url, ALICE))["code"]
    token = await exchange_code(
        client, code=code, redirect_uri=REDIRECT, code_verifier=verifier, timeout=5
    )
    assert token.refresh_token and token.id_token
    assert tenant_of(token) == DEFAULT_TENANT
    with pytest.raises(ConnectorError):  # a code is good for one exchange only
        await exchange_code(
            client, code=code, redirect_uri=REDIRECT, code_verifier=verifier, timeout=5
        )

    cancelled = await consent(url, ALICE, action="cancel")
    assert cancelled["error"] == "access_denied" and cancelled["state"] == "s1"


async def test_sign_in_page_refuses_an_unregistered_redirect(
    emu: MicrosoftEmulator, settings: Settings
) -> None:
    _, challenge = new_pkce_pair()
    url = authorization_url(
        microsoft_client(settings),
        redirect_uri="http://127.0.0.1:1/elsewhere",
        state="s",
        code_challenge=challenge,
    )
    async with httpx.AsyncClient() as browser:
        page = await browser.get(url)
    assert page.status_code == 400 and "AADSTS50011" in page.text


# -- verification and refusals (P7) --------------------------------------------------------


async def test_verify_reports_address_aliases_and_folders(alice: GraphConnector) -> None:
    info = await alice.verify()
    assert info.email == ALICE
    assert [a.email for a in info.aliases] == ["a.adams@contoso.test"]
    assert {f.role for f in info.folders} == {"inbox", "sent"}


async def test_alias_is_accepted_as_the_asked_address(settings: Settings) -> None:
    keeper = TokenKeeper(microsoft_client(settings), await sign_in(settings, ALICE), timeout=5)
    connector = GraphConnector(settings, keeper, expected_email="A.Adams@contoso.test")
    try:
        assert (await connector.verify()).email == ALICE
    finally:
        await connector.close()


async def test_shared_mailbox_is_refused(emu: MicrosoftEmulator, settings: Settings) -> None:
    emu.add_account("sales@contoso.test", "Sales", shared=True)
    client = microsoft_client(settings)
    # Signing in as yourself to reach a shared mailbox: the addresses differ.
    reach = GraphConnector(
        settings,
        TokenKeeper(client, await sign_in(settings, ALICE), timeout=5),
        expected_email="sales@contoso.test",
    )
    # Signing in to the shared mailbox itself: Graph says it is shared.
    direct = GraphConnector(
        settings,
        TokenKeeper(client, await sign_in(settings, "sales@contoso.test"), timeout=5),
        expected_email="sales@contoso.test",
    )
    for connector in (reach, direct):
        with pytest.raises(ConnectorError) as refused:
            await connector.verify()
        assert refused.value.code == "shared_mailbox_unsupported"
        assert not refused.value.transient
        assert "shared mailboxes" in refused.value.message
        await connector.close()


async def test_verify_works_without_mailbox_settings_permission(settings: Settings) -> None:
    """Without MailboxSettings.Read Graph answers 403 there; only the address check remains."""
    full = microsoft_client(settings)
    client = replace(full, scopes=tuple(s for s in full.scopes if "MailboxSettings" not in s))
    keeper = TokenKeeper(client, await sign_in(settings, ALICE, client), timeout=5)
    connector = GraphConnector(settings, keeper, expected_email=ALICE)
    try:
        assert (await connector.verify()).email == ALICE
    finally:
        await connector.close()


@pytest.mark.parametrize("sub_scope", ["DODCON", "DOD"])
async def test_government_clouds_are_refused(
    emu: MicrosoftEmulator, settings: Settings, sub_scope: str
) -> None:
    token = await sign_in(settings, ALICE)
    tenant = tenant_of(token)
    assert tenant is not None
    async with httpx.AsyncClient() as http:
        await check_tenant_cloud(settings, tenant, http)  # commercial: fine
        emu.make_government(tenant, sub_scope)
        with pytest.raises(ConnectorError) as refused:
            await check_tenant_cloud(settings, tenant, http)
        assert refused.value.code == "government_cloud_unsupported"
        assert "GCC High" in refused.value.message
        with pytest.raises(ConnectorError) as unknown:
            await check_tenant_cloud(settings, "no-such-tenant", http)
        assert unknown.value.code == "tenant_not_found"


# -- sync ----------------------------------------------------------------------------------


async def test_backfill_then_incremental_delta(
    emu: MicrosoftEmulator, alice: GraphConnector
) -> None:
    ids = [
        emu.deliver(ALICE, message_bytes(BOB, ALICE, f"recent {n}"), age_days=n) for n in range(5)
    ]
    emu.deliver(ALICE, message_bytes(BOB, ALICE, "too old"), age_days=400)
    emu.deliver(ALICE, message_bytes(ALICE, BOB, "sent one"), "sentitems")

    batches = await drain(alice, INBOX, None)
    assert [len(b.messages) for b in batches] == [2, 2, 1]  # sync_batch_size pages
    assert [b.backfill_complete for b in batches] == [False, False, True]
    assert {b.total for b in batches} == {5}
    subjects = {m.headers.subject for b in batches for m in b.messages}
    assert subjects == {f"recent {n}" for n in range(5)}
    first = batches[0].messages[0].headers
    assert first.sender is not None and first.sender.email == BOB
    assert [m.email for m in first.to] == [ALICE]

    sent = await drain(alice, SENT, None)
    assert [m.headers.subject for b in sent for m in b.messages] == ["sent one"]

    parent = batches[0].messages[0].headers.message_id
    new = emu.deliver(ALICE, message_bytes(BOB, ALICE, "reply", in_reply_to=parent))
    emu.delete(ALICE, ids[1])
    emu.mark_read(ALICE, ids[2])  # reported with a few properties only: not a new message
    later = await drain(alice, INBOX, batches[-1].checkpoint)
    assert [m.provider_id for b in later for m in b.messages] == [new]
    assert [d for b in later for d in b.deleted] == [ids[1]]
    assert not any(b.backfill_complete for b in later)
    assert {b.total for b in later} == {0}  # progress counts only the backfill
    assert later[0].messages[0].headers.in_reply_to == parent

    raws = await alice.fetch_raw(INBOX, [new, ids[1]])  # the deleted one is left out
    assert list(raws) == [new] and b"Subject: reply" in raws[new]

    nothing = await drain(alice, INBOX, later[-1].checkpoint)
    assert [(b.messages, b.deleted) for b in nothing] == [([], [])]


async def test_expired_delta_token_restarts_without_losing_mail(
    emu: MicrosoftEmulator, alice: GraphConnector
) -> None:
    for n in range(3):
        emu.deliver(ALICE, message_bytes(BOB, ALICE, f"m{n}"))
    done = await drain(alice, INBOX, None)
    emu.expire_delta_tokens()
    emu.deliver(ALICE, message_bytes(BOB, ALICE, "while expired"))
    before = emu.requests["mailFolders/inbox/messages/delta"]

    again = await drain(alice, INBOX, done[-1].checkpoint)
    subjects = [m.headers.subject for b in again for m in b.messages]
    assert sorted(subjects) == ["m0", "m1", "m2", "while expired"]  # a full pass, once each
    assert again[-1].backfill_complete
    # one refused request, then the restarted round's pages
    assert emu.requests["mailFolders/inbox/messages/delta"] - before == 1 + len(again)


async def test_a_round_resumes_from_the_page_it_stopped_at(
    emu: MicrosoftEmulator, alice: GraphConnector
) -> None:
    for n in range(5):
        emu.deliver(ALICE, message_bytes(BOB, ALICE, f"m{n}"))
    first = await anext(alice.changes(INBOX, None))  # then the process "crashed"
    rest = await drain(alice, INBOX, first.checkpoint)
    seen = [m.headers.subject for b in (first, *rest) for m in b.messages]
    assert sorted(seen) == [f"m{n}" for n in range(5)]
    assert rest[-1].backfill_complete and rest[-1].total == 5


async def test_links_to_other_hosts_are_never_followed(
    emu: MicrosoftEmulator, alice: GraphConnector
) -> None:
    emu.deliver(ALICE, message_bytes(BOB, ALICE, "only one"))
    planted = {"link": "http://127.0.0.1:9/v1.0/me/mailFolders/inbox/messages/delta?x=1"}
    batches = await drain(alice, INBOX, planted)  # the bearer token stays home: start over
    assert [m.headers.subject for b in batches for m in b.messages] == ["only one"]


async def test_wait_for_change_polls_delta(emu: MicrosoftEmulator, alice: GraphConnector) -> None:
    done = await drain(alice, INBOX, None)
    started = time.monotonic()
    assert await alice.wait_for_change(0.3) is False
    assert time.monotonic() - started >= 0.3
    emu.deliver(ALICE, message_bytes(BOB, ALICE, "news"))
    assert await alice.wait_for_change(30) is True
    news = await drain(alice, INBOX, done[-1].checkpoint)
    assert [m.headers.subject for b in news for m in b.messages] == ["news"]


# -- throttling, revocation, outages ---------------------------------------------------------


async def test_throttling_waits_as_retry_after_says(
    emu: MicrosoftEmulator, alice: GraphConnector
) -> None:
    emu.throttle(2, retry_after="1")
    started = time.monotonic()
    await alice.verify()
    assert time.monotonic() - started >= 2.0
    assert emu.requests["me"] == 3  # two refused, one answered

    emu.throttle(1, retry_after="0", status=503)
    await alice.verify()
    assert emu.requests["me"] == 5

    emu.throttle(100, retry_after="0")
    with pytest.raises(ConnectorError) as throttled:
        await alice.verify()
    assert throttled.value.code == "provider_throttled" and throttled.value.transient
    assert emu.requests["me"] == 5 + 5  # the bounded retries, not a storm


async def test_rejected_access_token_is_renewed_once(
    emu: MicrosoftEmulator, alice: GraphConnector
) -> None:
    tokens = emu.requests["token"]
    emu.expire_access_tokens()
    assert (await alice.verify()).email == ALICE
    assert emu.requests["token"] == tokens + 1


async def test_revoked_grant_means_token_revoked_without_a_storm(
    emu: MicrosoftEmulator, alice: GraphConnector
) -> None:
    tokens = emu.requests["token"]
    emu.revoke(ALICE)
    for _ in range(3):
        with pytest.raises(ConnectorError) as revoked:
            await alice.verify()
        assert revoked.value.code == "token_revoked" and not revoked.value.transient
    assert emu.requests["token"] == tokens + 1


async def test_stopped_provider_is_unreachable_and_transient(
    emu: MicrosoftEmulator, alice: GraphConnector, settings: Settings
) -> None:
    emu.stop()
    with pytest.raises(ConnectorError) as down:
        await alice.verify()
    assert down.value.code == "provider_unreachable" and down.value.transient
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConnectorError) as also_down:
            await check_tenant_cloud(settings, DEFAULT_TENANT, http)
    assert also_down.value.code == "provider_unreachable"


# -- sending -------------------------------------------------------------------------------


async def test_send_delivers_and_files_in_sent_items(
    emu: MicrosoftEmulator, alice: GraphConnector
) -> None:
    emu.add_account("carol@contoso.test")
    message = OutgoingMessage(
        sender=Mailbox(ALICE, "Alice Adams"),
        to=(Mailbox(BOB, "Bob"),),
        bcc=(Mailbox("carol@contoso.test"),),
        subject="Quote for you",
        message_id=new_message_id(ALICE),
        text="Here it is.",
    )
    assert not await alice.was_sent(message.message_id)
    ref = await alice.send(message)
    assert ref.saved_to_sent and ref.message_id == message.message_id
    await alice.save_to_sent([message])  # nothing to do: sendMail saved it

    (delivered,) = emu.live_messages(BOB, "inbox")
    assert message.message_id.encode() in delivered.raw and b"Bcc" not in delivered.raw
    assert len(emu.live_messages("carol@contoso.test", "inbox")) == 1
    (filed,) = emu.live_messages(ALICE, "sentitems")
    assert b"Bcc: carol@contoso.test" in filed.raw
    assert await alice.was_sent(message.message_id)
    assert emu.requests["sendMail"] == 1


async def test_revoke_has_nothing_to_call(emu: MicrosoftEmulator, alice: GraphConnector) -> None:
    before = sum(emu.requests.values())
    await alice.revoke()
    assert sum(emu.requests.values()) == before
