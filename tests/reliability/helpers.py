"""Helpers of the fault tests: connect an IMAP inbox (through a proxy) and read timelines."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.accounts import Person
from tests.support.api_helpers import eventually
from tests.support.mail_fixtures import MailboxUser


def connect_body(
    user: MailboxUser, imap_port: int, smtp_port: int, security: str = "none"
) -> dict[str, Any]:
    """Plaintext by default so the proxy can see the protocol (its patterns need it)."""
    return {
        "kind": "personal",
        "provider": "imap",
        "email": user.email,
        "password": user.password,
        "imap": {"host": "127.0.0.1", "port": imap_port, "security": security},
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": security},
    }


async def connect_inbox(api: httpx.AsyncClient, person: Person, body: dict[str, Any]) -> int:
    created = await api.post("/api/v1/inboxes", json=body, headers=person.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


async def sync_state(api: httpx.AsyncClient, person: Person, inbox_id: int) -> dict[str, Any]:
    body = (await api.get(f"/api/v1/inboxes/{inbox_id}", headers=person.headers)).json()
    state: dict[str, Any] = body["sync"]
    state["state"] = body["state"]
    return state


async def backfilled(
    api: httpx.AsyncClient, person: Person, inbox_id: int, timeout: float = 90
) -> None:
    async def done() -> bool:
        return bool((await sync_state(api, person, inbox_id))["backfill_complete"])

    assert await eventually(done, timeout=timeout), await sync_state(api, person, inbox_id)


async def timeline_ids(api: httpx.AsyncClient, person: Person, contact_id: int) -> list[str]:
    response = await api.get(
        f"/api/v1/contacts/{contact_id}/timeline", params={"limit": 1000}, headers=person.headers
    )
    assert response.status_code == 200, response.text
    return [str(item["message_id"]) for item in response.json()["items"]]
