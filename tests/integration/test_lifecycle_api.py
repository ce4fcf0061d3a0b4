"""Disable, enable and remove through the API (D1, D4), with history and audit."""

import httpx
from sqlalchemy import select

from inboxlink.runtime import Runtime
from inboxlink.store.tables import AuditEntry, InboxStateChange
from tests.support.accounts import Team
from tests.support.api_helpers import add_inbox


async def test_disable_enable_remove(api: httpx.AsyncClient, runtime: Runtime, team: Team) -> None:
    inbox_id = await add_inbox(runtime, team.member.id, team.member.account_id, "member@acme.test")
    h = team.member.headers
    base = f"/api/v1/inboxes/{inbox_id}"

    early = await api.delete(base, headers=h)
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "inbox_not_disabled"

    for person in (team.other_member, team.admin, team.outsider):
        assert (await api.post(f"{base}/disable", headers=person.headers)).status_code == 404

    assert (await api.post(f"{base}/disable", headers=h)).json()["state"] == "disabled"
    assert (await api.post(f"{base}/enable", headers=h)).json()["state"] == "connected"
    assert (await api.post(f"{base}/disable", headers=h)).json()["state"] == "disabled"
    twice = await api.post(f"{base}/disable", headers=h)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "invalid_inbox_state"

    removed = await api.delete(base, headers=h)
    assert removed.status_code == 200
    steps = removed.json()["provider_steps"]
    assert steps and "password" in steps[0]
    assert (await api.get(base, headers=h)).status_code == 404
    assert (await api.get("/api/v1/inboxes", headers=h)).json()["items"] == []

    async with runtime.sessions() as session:
        changes = [
            (c.from_state, c.to_state)
            for c in await session.scalars(
                select(InboxStateChange)
                .where(InboxStateChange.inbox_id == inbox_id)
                .order_by(InboxStateChange.id)
            )
        ]
        actions = set(await session.scalars(select(AuditEntry.action)))
    assert changes == [
        ("connected", "disabled"),
        ("disabled", "connected"),
        ("connected", "disabled"),
        ("disabled", "removed"),
    ]
    assert {"inbox.disabled", "inbox.connected", "inbox.removed"} <= actions

    # The address can be connected again once removed (P4 applies to active inboxes only).
    again = await add_inbox(
        runtime, team.other_member.id, team.member.account_id, "member@acme.test"
    )
    assert again != inbox_id


async def test_options_and_admin_settings_permissions(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    inbox_id = await add_inbox(runtime, team.member.id, team.member.account_id, "member@acme.test")
    changed = await api.patch(
        f"/api/v1/inboxes/{inbox_id}",
        json={"inbox_automation": True, "visibility_other": "metadata"},
        headers=team.member.headers,
    )
    assert changed.json()["inbox_automation"] is True
    assert changed.json()["visibility"]["other"] == "metadata"

    setting = {
        "domain": "acme.example",
        "imap": {"host": "mail.acme.example", "port": 993, "security": "ssl"},
        "smtp": {"host": "mail.acme.example", "port": 465, "security": "ssl"},
    }
    denied = await api.put(
        "/api/v1/admin/domain-settings", json=setting, headers=team.member.headers
    )
    assert denied.status_code == 403
    for person in (team.admin, team.access):
        saved = await api.put("/api/v1/admin/domain-settings", json=setting, headers=person.headers)
        assert saved.status_code == 200, saved.text
    listed = await api.get("/api/v1/admin/domain-settings", headers=team.admin.headers)
    assert [r["domain"] for r in listed.json()["items"]] == ["acme.example"]
    foreign = await api.get("/api/v1/admin/domain-settings", headers=team.outsider.headers)
    assert foreign.json()["items"] == []

    assert (
        await api.post(
            "/api/v1/admin/never-log", json={"entry": "@Rival.example"}, headers=team.admin.headers
        )
    ).json()["entry"] == "rival.example"
    assert (
        await api.post("/api/v1/admin/never-log", json={"entry": "x"}, headers=team.member.headers)
    ).status_code == 403
    policy = await api.put(
        "/api/v1/admin/logging-policy",
        json={"logging_policy": "replies"},
        headers=team.access.headers,
    )
    assert policy.json() == {"logging_policy": "replies"}
