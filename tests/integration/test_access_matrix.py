"""Access control: every API route by every kind of caller; exactly the allowed cells succeed."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from inboxlink.runtime import Runtime
from inboxlink.store.tables import ContactChange, OutboundEmail, Task
from tests.support.accounts import Team
from tests.support.api_helpers import add_inbox

CALLERS = ("owner", "colleague", "admin", "access", "outsider", "anonymous")


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    allowed: frozenset[str]
    body: dict[str, object] | None = None


ALL = frozenset(CALLERS) - {"anonymous"}
ACCOUNT = ALL - {"outsider"}
ADMINS = frozenset({"admin", "access", "outsider"})  # the outsider administers their own account

ROUTES = [
    Route("GET", "/api/v1/me", ALL),
    Route("GET", "/api/v1/inboxes", ALL),
    Route("GET", "/api/v1/notifications", ALL),
    Route("GET", "/api/v1/inboxes/{inbox}", frozenset({"owner"})),
    Route("PATCH", "/api/v1/inboxes/{inbox}", frozenset({"owner"}), {"inbox_automation": True}),
    Route("GET", "/api/v1/contacts/{contact}", ACCOUNT),
    Route("GET", "/api/v1/contacts/{contact}/timeline", ACCOUNT),
    Route("PATCH", "/api/v1/contacts/{contact}", ACCOUNT, {"company": "Client Ltd"}),
    Route("POST", "/api/v1/contacts/{contact}/changes/{change}/undo", ACCOUNT),
    Route("GET", "/api/v1/tasks", ALL),
    Route("POST", "/api/v1/tasks/{task}/accept", frozenset({"owner"})),
    Route("GET", "/api/v1/emails/{email}", frozenset({"owner"})),
    Route(
        "POST",
        "/api/v1/emails",
        frozenset({"owner"}),
        {"inbox_id": "{inbox}", "to": ["x@client.example"], "subject": "Hi"},
    ),
    Route("GET", "/api/v1/admin/domain-settings", ADMINS),
    Route("GET", "/api/v1/admin/logging-policy", ALL),
    Route("PUT", "/api/v1/admin/logging-policy", ADMINS, {"logging_policy": "all"}),
    Route("POST", "/api/v1/admin/never-log", ADMINS, {"entry": "rival.example"}),
    Route("POST", "/api/v1/inboxes/{inbox}/disable", frozenset({"owner"})),  # last: it disables
]


def _fill(value: object, ids: dict[str, int]) -> object:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


async def test_every_route_allows_exactly_its_callers(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    inbox = await add_inbox(runtime, team.member.id, team.member.account_id, "member@acme.test")
    contact = (
        await api.post(
            "/api/v1/contacts", json={"email": "c@client.example"}, headers=team.admin.headers
        )
    ).json()["id"]
    async with runtime.sessions() as session:
        email = OutboundEmail(
            account_id=team.member.account_id,
            user_id=team.member.id,
            inbox_id=inbox,
            message_id="<m@acme.test>",
            from_addr="member@acme.test",
            state="sent",
        )
        change = ContactChange(
            account_id=team.member.account_id,
            contact_id=contact,
            field="company",
            value="Client Ltd",
        )
        task = Task(
            account_id=team.member.account_id, user_id=team.member.id, kind="request", title="Call"
        )
        session.add_all([email, change, task])
        await session.commit()
    ids = {"inbox": inbox, "contact": contact, "email": email.id, "change": change.id}
    ids["task"] = task.id
    people = {
        "owner": team.member,
        "colleague": team.other_member,
        "admin": team.admin,
        "access": team.access,
        "outsider": team.outsider,
    }
    for route in ROUTES:
        path = route.path.format(**ids)
        body = _fill(route.body, ids) if route.body is not None else None
        outcomes = {}
        for caller in CALLERS:
            headers = people[caller].headers if caller in people else {}
            response = await api.request(route.method, path, json=body, headers=headers)
            outcomes[caller] = response.status_code
            if response.status_code >= 400:
                assert set(response.json()["error"]) >= {"code", "message"}
        allowed = {c for c, status in outcomes.items() if status < 400}
        assert allowed == set(route.allowed), (route, outcomes)
        assert outcomes["anonymous"] == 401
        # Refusals never reveal another user's inbox exists: 404, not 403.
        if "inbox" in route.path:
            assert {
                outcomes[c] for c in CALLERS if c not in route.allowed and c != "anonymous"
            } <= {404}
