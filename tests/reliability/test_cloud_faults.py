"""Gmail and Microsoft Graph misbehaving under the product's own worker, through the
emulators: 429 with Retry-After, 503, every access token expiring mid-sync, the history id /
delta token expiring (404 / 410 syncStateNotFound: a full resync), and finally the grant
revoked (``invalid_grant``). Each is honoured and recovered from without a retry storm: the
emulator counts every request, every refusal, and every retry that came back before the
Retry-After had passed. The store then matches the mailbox: lost=0, twice=0."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from inboxlink.config import Settings
from inboxlink.runtime import Runtime
from tests.emulators.google import GoogleEmulator
from tests.emulators.microsoft import MicrosoftEmulator
from tests.emulators.throttle import Throttle
from tests.reliability.figures import compare
from tests.reliability.helpers import timeline_ids
from tests.support.accounts import Team
from tests.support.api_helpers import add_contact, eventually
from tests.support.cloud import cloud_settings, connect_oauth, my_inboxes
from tests.support.mail_samples import sample_message

JANE, ANN, OTHER = "jane@cloud.example", "ann@client.example", "x@other.example"
MESSAGES = 300
LATER = 30
#: (refusals, Retry-After, status): rate-limited, an outage, then throttling that outlasts
#: the connector's own retries (the worker's next attempt must still wait as asked).
FAULTS = ((3, "1", 429), (3, "1", 503), (6, "2", 429))
REFUSALS = sum(count for count, _, _ in FAULTS)


@pytest.fixture
def settings(
    settings: Settings, google_emulator: GoogleEmulator, microsoft_emulator: MicrosoftEmulator
) -> Settings:
    return cloud_settings(settings, google_emulator, microsoft_emulator)


@dataclass
class Cloud:
    """What the scenario needs of one emulator, under one vocabulary."""

    provider: str
    deliver: Callable[[bytes, float], object]
    throttle: Callable[[int, str, int], None]
    throttling: Throttle
    expire_access_tokens: Callable[[], None]
    expire_sync_state: Callable[[], None]
    revoke: Callable[[], None]
    requests: Callable[[], int]
    token_requests: Callable[[], int]
    errors: Callable[[str], int]
    #: the error answer that means "start over" (history id / delta token expired)
    sync_state_expired: str


def _gmail(emu: GoogleEmulator) -> Cloud:
    return Cloud(
        "gmail",
        lambda raw, age: emu.deliver(JANE, raw, age_days=age),
        emu.throttle,
        emu.throttling,
        emu.expire_access_tokens,
        lambda: emu.expire_history(JANE),
        lambda: emu.revoke_grants(JANE),
        lambda: sum(emu.requests.values()),
        lambda: emu.requests["POST /token"],
        lambda key: emu.errors[key],
        "404 GET /gmail/v1/users/me/history",
    )


def _graph(emu: MicrosoftEmulator) -> Cloud:
    return Cloud(
        "microsoft",
        lambda raw, age: emu.deliver(JANE, raw, age_days=age),
        emu.throttle,
        emu.throttling,
        emu.expire_access_tokens,
        emu.expire_delta_tokens,
        lambda: emu.revoke(JANE),
        lambda: sum(emu.requests.values()),
        lambda: emu.requests["token"],
        lambda key: emu.errors[key],
        "410 mailFolders/inbox/messages/delta",
    )


@pytest.fixture(params=["gmail", "microsoft"])
def cloud(
    request: pytest.FixtureRequest,
    google_emulator: GoogleEmulator,
    microsoft_emulator: MicrosoftEmulator,
) -> Cloud:
    if request.param == "gmail":
        google_emulator.add_account(JANE, "Jane")
        return _gmail(google_emulator)
    microsoft_emulator.add_account(JANE, "Jane")
    return _graph(microsoft_emulator)


def _mail(tag: str, count: int) -> tuple[list[bytes], set[str]]:
    raws, expected = [], set()
    for n in range(count):
        sender = ANN if n % 3 == 0 else OTHER
        message_id = f"<{tag}{n}@cloud.example>"
        raws.append(sample_message(sender, JANE, message_id=message_id, subject=f"{tag} {n}"))
        if sender == ANN:
            expected.add(message_id)
    return raws, expected


async def test_throttling_outage_expiries_and_revocation_through_the_worker(
    api: httpx.AsyncClient, runtime: Runtime, runner: object, team: Team, cloud: Cloud
) -> None:
    raws, expected = _mail("old", MESSAGES)
    for n, raw in enumerate(raws):
        cloud.deliver(raw, 1 + n / 100)
    ann_id = await add_contact(api, team.member, ANN)
    page = await connect_oauth(api, team.member, cloud.provider, JANE)
    assert page.status_code == 200, page.text
    [inbox] = await my_inboxes(api, team.member)
    url = f"/api/v1/inboxes/{inbox['id']}"

    async def state() -> dict[str, object]:
        body: dict[str, object] = (await api.get(url, headers=team.member.headers)).json()
        return body

    async def refused(count: int) -> bool:
        return cloud.throttling.refused >= count

    # The sync's first requests are rate-limited, the next ones meet an outage (503), then
    # every access token expires: each lands while the backfill runs.
    async def backfilled() -> bool:
        return bool((await state())["sync"]["backfill_complete"])  # type: ignore[index]

    landed: list[str] = []
    for count, retry_after, status in FAULTS:
        target = cloud.throttling.refused + count
        cloud.throttle(count, retry_after, status)
        assert await eventually(lambda t=target: refused(t), timeout=90)
        landed.append(f"{status}x{count}:{'incremental' if await backfilled() else 'backfill'}")
    tokens = cloud.token_requests()
    cloud.expire_access_tokens()
    landed.append(f"401:{'incremental' if await backfilled() else 'backfill'}")

    assert await eventually(backfilled, timeout=90), await state()
    # Incremental: the history id / delta token expires while new mail arrives.
    more, later = _mail("new", LATER)
    cloud.expire_sync_state()
    for raw in more:
        cloud.deliver(raw, 0)
    expected |= later

    async def all_logged() -> bool:
        return expected <= set(await timeline_ids(api, team.member, ann_id))

    assert await eventually(all_logged, timeout=90), await state()
    await asyncio.sleep(2)  # a few more polls: a duplicate or a resync loop would show now
    token_refreshes = cloud.token_requests() - tokens
    expired_answers = cloud.errors(cloud.sync_state_expired)
    used = cloud.requests()
    figures = compare(
        f"{cloud.provider}: 429, 503, long 429, tokens expired mid-backfill; sync state expired",
        expected,
        await timeline_ids(api, team.member, ann_id),
        detail=f"faults_landed={landed} messages={MESSAGES + LATER} requests={used} "
        f"refused={cloud.throttling.refused} "
        f"retried_before_retry_after={cloud.throttling.too_early} "
        f"token_refreshes={token_refreshes} sync_state_expired_answers={expired_answers}",
    )
    assert figures.clean
    assert cloud.throttling.refused == REFUSALS and cloud.throttling.early == []
    assert token_refreshes == 1  # one refresh for the whole inbox, not one per request
    # One full resync, not a loop: the expired state is met once per synced folder (Gmail's
    # INBOX and SENT share the history id) or by the change poller and then the sync (Graph).
    assert 1 <= expired_answers <= 2
    # No storm: two full passes (the backfill and the resync) at most two requests a message.
    assert used <= 4 * (MESSAGES + LATER), used

    # invalid_grant: the inbox asks to be reconnected, once, and goes quiet.
    tokens = cloud.token_requests()
    cloud.revoke()
    cloud.expire_access_tokens()

    async def needs_reconnect() -> bool:
        return (await state())["state"] == "needs_reconnect"

    assert await eventually(needs_reconnect, timeout=30), await state()
    quiet_from = cloud.requests()
    await asyncio.sleep(3)
    print(
        f"[figures] {cloud.provider}: invalid_grant: "
        f"token_requests={cloud.token_requests() - tokens} "
        f"requests_after_needs_reconnect={cloud.requests() - quiet_from}"
    )
    assert cloud.token_requests() - tokens == 1
    assert cloud.requests() == quiet_from
