"""Provider APIs that answer something other than JSON: the Gmail and Graph emulators serve an
HTML error page (a proxy in the way) or cut JSON with a 200. The inbox shows a
``provider_error`` with a plain message instead of its watcher crashing silently, recovers
when the API is sane again, and the other provider's inbox keeps syncing meanwhile."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from inboxlink.config import Settings
from inboxlink.runtime import Runtime
from tests.emulators.google import GoogleEmulator
from tests.emulators.microsoft import MicrosoftEmulator
from tests.emulators.server import BROKEN_JSON, HTML_ERROR_PAGE, Garbler
from tests.reliability.helpers import backfilled, sync_state
from tests.support.accounts import Person, Team
from tests.support.api_helpers import add_contact, eventually
from tests.support.cloud import cloud_settings, connect_oauth, my_inboxes
from tests.support.mail_samples import sample_message

ANN = "ann@client.example"


@pytest.fixture
def settings(
    settings: Settings, google_emulator: GoogleEmulator, microsoft_emulator: MicrosoftEmulator
) -> Settings:
    return cloud_settings(settings, google_emulator, microsoft_emulator)


async def _logged(api: httpx.AsyncClient, person: Person, contact_id: int, message_id: str) -> bool:
    async def seen() -> bool:
        response = await api.get(f"/api/v1/contacts/{contact_id}/timeline", headers=person.headers)
        return any(i["message_id"] == message_id for i in response.json()["items"])

    return await eventually(seen, timeout=60)


async def test_html_and_broken_json_from_the_apis_are_clear_errors_and_others_go_on(
    api: httpx.AsyncClient,
    runtime: Runtime,
    runner: object,
    team: Team,
    google_emulator: GoogleEmulator,
    microsoft_emulator: MicrosoftEmulator,
) -> None:
    google_emulator.add_account("jane@gmail.com", "Jane")
    microsoft_emulator.add_account("joe@contoso.example", "Joe")
    ann_id = await add_contact(api, team.admin, ANN)
    await connect_oauth(api, team.member, "gmail", "jane@gmail.com")
    await connect_oauth(api, team.other_member, "microsoft", "joe@contoso.example")
    [gmail] = await my_inboxes(api, team.member)
    [graph] = await my_inboxes(api, team.other_member)
    for person, inbox in ((team.member, gmail), (team.other_member, graph)):
        await backfilled(api, person, inbox["id"])

    def deliver(address: str, message_id: str) -> None:
        raw = sample_message(ANN, address, message_id=message_id, days_ago=0)
        if address.endswith("gmail.com"):
            google_emulator.deliver(address, raw)
        else:
            microsoft_emulator.deliver(address, raw)

    shown: dict[str, Any] = {}
    cases: list[tuple[str, Garbler, bytes, str, Person, dict[str, Any], Person, str]] = [
        (
            "gmail html",
            google_emulator.garble,
            HTML_ERROR_PAGE,
            "text/html",
            team.member,
            gmail,
            team.other_member,
            "joe@contoso.example",
        ),
        (
            "graph broken json",
            microsoft_emulator.garble,
            BROKEN_JSON,
            "application/json",
            team.other_member,
            graph,
            team.member,
            "jane@gmail.com",
        ),
    ]
    for name, garble, body, kind, person, inbox, other, other_address in cases:
        garble.arm(10_000, body, kind)
        broken_address = str(inbox["email"])
        deliver(broken_address, f"<during-{inbox['id']}@apis.example>")

        async def error() -> dict[str, Any] | None:
            return (await sync_state(api, person, inbox["id"]))["last_error"]  # noqa: B023

        shown[name] = await eventually(error, timeout=60)
        assert shown[name] and shown[name]["code"] == "provider_error", shown[name]
        assert "not the data inboxlink asked for" in shown[name]["message"]
        # The other provider's inbox goes on.
        deliver(other_address, f"<other-{inbox['id']}@apis.example>")
        assert await _logged(api, other, ann_id, f"<other-{inbox['id']}@apis.example>")
        # Sane again: the message that arrived meanwhile is fetched, the error cleared.
        garble.arm(0, b"", kind)
        assert await _logged(api, person, ann_id, f"<during-{inbox['id']}@apis.example>")

        async def cleared() -> bool:
            return (await sync_state(api, person, inbox["id"]))["last_error"] is None  # noqa: B023

        assert await eventually(cleared, timeout=60)
        assert garble.served >= 1
    print(
        f"[figures] malformed APIs: errors shown {[(n, e['code']) for n, e in shown.items()]}; "
        "other inbox logged 2/2; both recovered"
    )
