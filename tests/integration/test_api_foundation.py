"""The API shell on SQLite and PostgreSQL: auth, error shape, contacts, inbox visibility."""

import httpx

from inboxlink.runtime import Runtime
from tests.support.accounts import Team
from tests.support.api_helpers import add_inbox


async def test_healthz_and_openapi(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json()["status"] == "ok"
    schema = (await api.get("/api/openapi.json")).json()
    assert "/api/v1/me" in schema["paths"]


async def test_me_needs_a_token(api: httpx.AsyncClient, team: Team) -> None:
    anonymous = await api.get("/api/v1/me")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"
    wrong = await api.get("/api/v1/me", headers={"Authorization": "Bearer ilk_nope"})
    assert wrong.status_code == 401
    mine = await api.get("/api/v1/me", headers=team.member.headers)
    assert mine.status_code == 200
    assert mine.json()["email"] == "member@acme.test"
    assert mine.json()["role"] == "member"


async def test_errors_always_have_the_error_shape(api: httpx.AsyncClient, team: Team) -> None:
    missing = await api.get("/api/v1/nothing-here", headers=team.member.headers)
    assert missing.status_code == 404
    assert set(missing.json()["error"]) == {"code", "message"}
    invalid = await api.post("/api/v1/contacts", json={"name": 3}, headers=team.member.headers)
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "invalid_request"


async def test_contacts_are_created_found_and_unique(api: httpx.AsyncClient, team: Team) -> None:
    h = team.member.headers
    created = await api.post(
        "/api/v1/contacts", json={"email": "Jane@Example.COM", "name": "Jane"}, headers=h
    )
    assert created.status_code == 201
    contact = created.json()
    assert contact["email"] == "jane@example.com"
    again = await api.post("/api/v1/contacts", json={"email": "jane@example.com"}, headers=h)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "contact_exists"
    found = await api.get("/api/v1/contacts", params={"email": "JANE@example.com"}, headers=h)
    assert found.json()["id"] == contact["id"]
    assert (await api.get(f"/api/v1/contacts/{contact['id']}", headers=h)).status_code == 200
    timeline = await api.get(f"/api/v1/contacts/{contact['id']}/timeline", headers=h)
    assert timeline.json() == {"items": [], "next": None}
    bad = await api.post("/api/v1/contacts", json={"email": "not an address"}, headers=h)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_email"


async def test_another_accounts_user_cannot_see_contacts(
    api: httpx.AsyncClient, team: Team
) -> None:
    created = await api.post(
        "/api/v1/contacts", json={"email": "a@b.example"}, headers=team.admin.headers
    )
    contact_id = created.json()["id"]
    response = await api.get(f"/api/v1/contacts/{contact_id}", headers=team.outsider.headers)
    assert response.status_code == 404
    timeline = await api.get(
        f"/api/v1/contacts/{contact_id}/timeline", headers=team.outsider.headers
    )
    assert timeline.status_code == 404


async def test_a_member_cannot_list_or_read_another_users_inbox(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    mine = await add_inbox(runtime, team.member.id, team.member.account_id, "member@acme.test")
    theirs = await add_inbox(
        runtime, team.other_member.id, team.member.account_id, "other@acme.test"
    )
    listed = await api.get("/api/v1/inboxes", headers=team.member.headers)
    assert [i["id"] for i in listed.json()["items"]] == [mine]
    assert (
        await api.get(f"/api/v1/inboxes/{mine}", headers=team.member.headers)
    ).status_code == 200
    for person in (team.member, team.admin, team.outsider):
        response = await api.get(f"/api/v1/inboxes/{theirs}", headers=person.headers)
        assert response.status_code == 404, person.email
        assert response.json()["error"]["code"] == "not_found"


async def test_inbox_object_has_the_contract_shape(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    inbox_id = await add_inbox(runtime, team.member.id, team.member.account_id, "member@acme.test")
    body = (await api.get(f"/api/v1/inboxes/{inbox_id}", headers=team.member.headers)).json()
    assert {
        "id",
        "kind",
        "provider",
        "email",
        "owner_id",
        "state",
        "inbox_automation",
        "aliases",
        "sync",
    } <= set(body)
    assert {
        "state",
        "messages_scanned",
        "messages_logged",
        "backfill_complete",
        "last_sync_at",
        "last_error",
    } <= set(body["sync"])


async def test_notifications_list_is_per_user(api: httpx.AsyncClient, team: Team) -> None:
    response = await api.get("/api/v1/notifications", headers=team.member.headers)
    assert response.json() == {"items": [], "unread": 0}
