"""Exchange (EWS) throttling and outages under the product's own worker: ErrorServerBusy
faults with BackOffMilliseconds, then plain HTTP 503s with Retry-After, while the backfill
runs. Honoured (nothing comes back before the server said), recovered, no retry storm, and
the store then matches the mailbox."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from inboxlink.config import Settings
from inboxlink.runtime import Runtime
from inboxlink.worker.runner import Runner
from tests.integration.test_exchange import ANN, JANE, connect, exchange
from tests.reliability.figures import compare
from tests.reliability.helpers import timeline_ids
from tests.support.accounts import Team
from tests.support.api_helpers import add_contact, eventually
from tests.support.dns_server import DnsServer
from tests.support.ews_fixtures import StartEws
from tests.support.mail_samples import sample_message

MESSAGES = 150
LATER = 15
BACK_OFF_SECONDS = 2


@pytest.fixture
def settings(settings: Settings, dns_server: DnsServer, discovery_ca: Any) -> Settings:
    values = settings.model_dump()
    values.update(
        dns_nameservers=dns_server.nameserver,
        dns_timeout_seconds=1.0,
        extra_ca_file=discovery_ca.cert_path,
        ews_poll_seconds=0.3,
        poll_seconds=1.0,
    )
    return Settings(**values)


async def test_server_busy_and_503_are_honoured_and_recovered(
    api: httpx.AsyncClient,
    runtime: Runtime,
    team: Team,
    dns_server: DnsServer,
    start_ews: StartEws,
    runner: Runner,
) -> None:
    emu = exchange(start_ews)
    dns_server.add_address(emu.host, emu.address)
    dns_server.add_address(f"autodiscover.{emu.host.split('.', 1)[1]}", emu.address)
    dns_server.start()
    expected = set()

    def deliver(tag: str, count: int, age: float) -> None:
        for n in range(count):
            sender = ANN if n % 3 == 0 else "x@other.test"
            message_id = f"<{tag}{n}@ews.example>"
            emu.deliver(JANE, sample_message(sender, JANE, message_id=message_id), age_days=age)
            if sender == ANN:
                expected.add(message_id)

    deliver("old", MESSAGES, 1)
    ann_id = await add_contact(api, team.member, ANN)
    inbox = await connect(runtime, team.member)
    operations_at_connect = sum(emu.operations.values())
    runtime.signals.inboxes_changed.set()

    async def state() -> dict[str, Any]:
        body: dict[str, Any] = (
            await api.get(f"/api/v1/inboxes/{inbox.id}", headers=team.member.headers)
        ).json()
        return body

    async def refused(count: int) -> bool:
        return emu.throttling.refused >= count

    landed = []
    for status in (500, 503):  # ErrorServerBusy, then HTTP 503
        emu.throttle(3, BACK_OFF_SECONDS, status)
        assert await eventually(lambda: refused(len(landed) * 3 + 3), timeout=90)
        landed.append(f"{status}:{(await state())['sync']['state']}")

    async def backfilled() -> bool:
        return bool((await state())["sync"]["backfill_complete"])

    assert await eventually(backfilled, timeout=90), await state()
    deliver("new", LATER, 0)

    async def all_logged() -> bool:
        return expected <= set(await timeline_ids(api, team.member, ann_id))

    assert await eventually(all_logged, timeout=60), await state()
    used = sum(emu.operations.values()) - operations_at_connect
    figures = compare(
        "exchange: ErrorServerBusy x3 + HTTP 503 x3 during the backfill",
        expected,
        await timeline_ids(api, team.member, ann_id),
        detail=f"faults_landed={landed} messages={MESSAGES + LATER} ews_calls={used} "
        f"refused={emu.throttling.refused} retried_before_back_off={emu.throttling.early}",
    )
    assert figures.clean
    assert emu.throttling.refused == 6 and emu.throttling.early == []
    assert used <= 2 * (MESSAGES + LATER), used
    assert (await state())["state"] == "connected"
