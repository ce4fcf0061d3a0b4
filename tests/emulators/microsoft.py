"""An emulator of the Microsoft identity platform (v2.0) and Microsoft Graph mail, as a real
HTTP server on loopback.

Written from Microsoft's public references: the OAuth 2.0 authorization code flow with PKCE,
the OpenID Connect discovery document (``tenant_region_scope``, ``cloud_instance_name``), and
Graph v1.0 ``/me``, ``mailboxSettings``, ``mailFolders``, ``messages/delta`` (skip and delta
tokens, ``Prefer: odata.maxpagesize``, ``@removed``), ``messages/{id}/$value`` and ``sendMail``.
The product reaches it only through ``INBOXLINK_MICROSOFT_LOGIN_URL`` and
``INBOXLINK_MICROSOFT_GRAPH_URL``, both set to ``.url``.

Mailboxes live in memory, keyed by address; ``sendMail`` delivers to every recipient the
emulator holds and files the sender's copy in Sent Items. Tests flip switches (shared mailbox,
government tenant, ``expire_delta_tokens``, ``throttle``, ``revoke``) and read ``requests``, a
count per endpoint, to see that the product neither storms nor skips.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from typing import Any
from urllib.parse import unquote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from tests.emulators.server import BackgroundServer, Garbler
from tests.emulators.throttle import Throttle
from tests.support.ports import free_port

GRAPH = "https://graph.microsoft.com/"
DEFAULT_TENANT = "9a1b2c3d-0000-4000-8000-00000000c0de"
#: Folder ids as Graph would show them, and the well-known names that address them too.
FOLDER_IDS = {"inbox": "AQMkADAwATM0MDAAInbox", "sentitems": "AQMkADAwATM0MDAASentItems"}
_FOLDER_NAMES = {"inbox": "Inbox", "sentitems": "Sent Items"}
_MULTI_TENANT = {"common", "organizations", "consumers"}
#: The permission each Graph area needs (short names, as in the granted scopes).
_NEEDS = {"me": "User.Read", "settings": "MailboxSettings.Read", "send": "Mail.Send"}


@dataclass
class Tenant:
    id: str
    region_scope: str = "NA"
    sub_scope: str | None = None
    cloud_instance: str = "microsoftonline.com"


@dataclass
class StoredMessage:
    id: str
    folder: str
    raw: bytes
    received: datetime
    created_seq: int
    changed_seq: int
    deleted_seq: int | None = None
    is_read: bool = False

    def parsed(self) -> EmailMessage:
        message = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Account:
    email: str
    name: str
    tenant: str
    aliases: tuple[str, ...] = ()
    purpose: str = "user"
    messages: dict[str, StoredMessage] = field(default_factory=dict)


@dataclass
class Grant:
    email: str
    client_id: str
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class DeltaRound:
    """What a skip or delta token stands for: changes after ``baseline`` up to ``upto``."""

    email: str
    folder: str
    select: tuple[str, ...] | None
    since: datetime | None
    baseline: int | None  # None: the initial round (every live message)
    upto: int
    offset: int
    generation: int


class MicrosoftEmulator:
    """State plus switches; ``start()`` serves it on a loopback port."""

    def __init__(self, client_id: str = "emulated-ms-client", client_secret: str = "ms-secret"):
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris: set[str] = set()
        self.accounts: dict[str, Account] = {}
        self.tenants: dict[str, Tenant] = {DEFAULT_TENANT: Tenant(DEFAULT_TENANT)}
        self.lock = threading.RLock()
        self.requests: Counter[str] = Counter()
        #: Error answers served, as "status endpoint" (throttling refusals not included).
        self.errors: Counter[str] = Counter()
        self.access_token_seconds = 3600
        self.throttling = Throttle()
        #: ``garble.arm(n, body, type)``: the next n Graph answers are not JSON
        self.garble = Garbler()
        self._codes: dict[str, dict[str, Any]] = {}
        self._grants: dict[str, Grant] = {}  # refresh token -> grant
        self._access: dict[str, tuple[Grant, float]] = {}
        self._rounds: dict[str, DeltaRound] = {}
        self._generation = 0
        self._seq = 0
        self.port = free_port()
        self._server: BackgroundServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- test-facing setup and switches --------------------------------------------------

    def add_account(
        self,
        email: str,
        name: str = "",
        *,
        tenant: str = DEFAULT_TENANT,
        aliases: tuple[str, ...] = (),
        shared: bool = False,
    ) -> Account:
        """A mailbox; ``shared`` makes Graph report it as a shared mailbox (``userPurpose``)."""
        with self.lock:
            self.tenants.setdefault(tenant, Tenant(tenant))
            account = Account(email.lower(), name, tenant, aliases, "shared" if shared else "user")
            self.accounts[account.email] = account
            return account

    def make_government(self, tenant: str = DEFAULT_TENANT, sub_scope: str = "DODCON") -> None:
        """Move a tenant to the US government cloud: GCC High (DODCON) or DoD (DOD)."""
        with self.lock:
            self.tenants[tenant] = Tenant(tenant, "USGov", sub_scope, "microsoftonline.us")

    def deliver(self, email: str, raw: bytes, folder: str = "inbox", *, age_days: float = 0) -> str:
        """Put a message into a folder (as if it arrived ``age_days`` ago); returns its id."""
        with self.lock:
            seq = self._next_seq()
            message = StoredMessage(
                f"AAMkAGI2{secrets.token_urlsafe(12)}=",
                folder,
                raw,
                datetime.now(UTC) - timedelta(days=age_days),
                seq,
                seq,
            )
            self.accounts[email.lower()].messages[message.id] = message
            return message.id

    def delete(self, email: str, message_id: str) -> None:
        with self.lock:
            self.accounts[email.lower()].messages[message_id].deleted_seq = self._next_seq()

    def mark_read(self, email: str, message_id: str) -> None:
        """A property change: delta reports it with only a few properties."""
        with self.lock:
            message = self.accounts[email.lower()].messages[message_id]
            message.is_read, message.changed_seq = True, self._next_seq()

    def live_messages(self, email: str, folder: str) -> list[StoredMessage]:
        with self.lock:
            box = self.accounts[email.lower()].messages.values()
            return [m for m in box if m.folder == folder and m.deleted_seq is None]

    def revoke(self, email: str) -> None:
        """As if the user removed the app (or changed the password): every token of the
        mailbox stops working and refreshes answer ``invalid_grant``."""
        with self.lock:
            for grant in self._grants.values():
                if grant.email == email.lower():
                    grant.revoked = True

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is rejected (401) from now on."""
        with self.lock:
            self._access.clear()

    def expire_delta_tokens(self) -> None:
        """Every skip and delta token issued until now answers 410 ``syncStateNotFound``."""
        with self.lock:
            self._generation += 1

    def throttle(self, count: int, retry_after: str = "1", status: int = 429) -> None:
        """The next ``count`` Graph requests answer ``status`` with this ``Retry-After``."""
        self.throttling.arm(count, retry_after, status)

    # -- server ---------------------------------------------------------------------------

    def start(self) -> MicrosoftEmulator:
        self._server = BackgroundServer(
            build_app(self), host="127.0.0.1", port=self.port, name="Microsoft emulator"
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    # -- internals ------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _issue(self, grant: Grant, refresh_token: str | None = None) -> dict[str, Any]:
        access = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(24)
        self._access[access] = (grant, time.time() + self.access_token_seconds)
        account = self.accounts[grant.email]
        claims = {
            "iss": f"{self.url}/{account.tenant}/v2.0",
            "aud": grant.client_id,
            "tid": account.tenant,
            "oid": hashlib.sha256(account.email.encode()).hexdigest()[:32],
            "preferred_username": account.email,
            "email": account.email,
            "iat": int(time.time()),
            "exp": int(time.time()) + 3600,
        }
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(s for s in grant.scopes if s.startswith(GRAPH)),
            "expires_in": self.access_token_seconds,
            "ext_expires_in": self.access_token_seconds,
            "access_token": access,
            "id_token": _unsigned_jwt(claims),
        }
        if "offline_access" in grant.scopes:
            refresh = refresh_token or "M.C5" + secrets.token_urlsafe(32)
            self._grants[refresh] = grant
            body["refresh_token"] = refresh
        return body

    def _grant_for(self, request: Request) -> Grant | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self.lock:
            found = self._access.get(token)
        if found is None or found[1] < time.time() or found[0].revoked:
            return None
        return found[0]

    def _new_round(self, request: Request, email: str, folder: str) -> DeltaRound:
        params = request.query_params
        select = tuple(params["$select"].split(",")) if "$select" in params else None
        since = None
        if "$filter" in params:  # the one filter delta supports: receivedDateTime ge|gt <time>
            since = _parse_time(params["$filter"].split()[-1])
        return DeltaRound(email, folder, select, since, None, self._seq, 0, self._generation)

    def _token(self, round_: DeltaRound) -> str:
        token = secrets.token_urlsafe(18)
        self._rounds[token] = round_
        return token


def _unsigned_jwt(claims: dict[str, Any]) -> str:
    parts = ({"typ": "JWT", "alg": "none"}, claims)
    encoded = (base64.urlsafe_b64encode(json.dumps(p).encode()).decode().rstrip("=") for p in parts)
    return ".".join(encoded) + "."


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.strip("'").replace("Z", "+00:00"))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _short_scope(scope: str) -> str:
    return scope.removeprefix(GRAPH)


def graph_error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {"date": _iso(datetime.now(UTC))},
            }
        },
        status_code=status,
        headers=headers or None,
    )


def _aad_error(error: str, code: int, description: str, status: int = 400) -> JSONResponse:
    body = {
        "error": error,
        "error_description": f"AADSTS{code}: {description}",
        "error_codes": [code],
    }
    return JSONResponse(body, status_code=status)


def _recipients(value: str | None) -> list[dict[str, Any]]:
    return [
        {"emailAddress": {"name": name, "address": address}}
        for name, address in getaddresses([value or ""])
        if "@" in address
    ]


def message_resource(message: StoredMessage, select: tuple[str, ...] | None) -> dict[str, Any]:
    """A message as Graph shows it; ``internetMessageHeaders`` only when selected, and never
    for Sent Items (as Graph does)."""
    parsed = message.parsed()
    senders = _recipients(str(parsed.get("From", "")))
    full: dict[str, Any] = {
        "id": message.id,
        "receivedDateTime": _iso(message.received),
        "sentDateTime": _iso(message.received),
        "subject": str(parsed.get("Subject", "")),
        "internetMessageId": str(parsed.get("Message-ID", "")).strip(),
        "parentFolderId": FOLDER_IDS[message.folder],
        "isRead": message.is_read,
        "from": senders[0] if senders else None,
        "sender": senders[0] if senders else None,
        "toRecipients": _recipients(str(parsed.get("To", ""))),
        "ccRecipients": _recipients(str(parsed.get("Cc", ""))),
    }
    if select is None:
        return full
    shown = {key: full[key] for key in select if key in full}
    if "internetMessageHeaders" in select and message.folder == "inbox":
        shown["internetMessageHeaders"] = [
            {"name": name, "value": str(value)} for name, value in parsed.items()
        ]
    return {"id": message.id, **shown}


def _round_items(emu: MicrosoftEmulator, round_: DeltaRound) -> list[dict[str, Any]]:
    """The entries of one delta round, in a stable order (pages slice this list)."""
    box = emu.accounts[round_.email].messages.values()
    entries: list[tuple[int, dict[str, Any]]] = []
    for m in box:
        if m.folder != round_.folder or (round_.since and m.received < round_.since):
            continue
        gone = m.deleted_seq is not None and m.deleted_seq <= round_.upto
        if round_.baseline is None:
            if m.created_seq <= round_.upto and not gone:
                entries.append((m.created_seq, message_resource(m, round_.select)))
        elif gone and m.created_seq <= round_.baseline < (m.deleted_seq or 0):
            entries.append((m.deleted_seq or 0, {"id": m.id, "@removed": {"reason": "deleted"}}))
        elif not gone and round_.baseline < m.created_seq <= round_.upto:
            entries.append((m.created_seq, message_resource(m, round_.select)))
        elif not gone and m.created_seq <= round_.baseline < m.changed_seq <= round_.upto:
            partial = {"id": m.id, "isRead": m.is_read, "parentFolderId": FOLDER_IDS[m.folder]}
            entries.append((m.changed_seq, partial))
    return [entry for _, entry in sorted(entries, key=lambda e: e[0])]


def _page_size(request: Request) -> int:
    for part in request.headers.get("prefer", "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "odata.maxpagesize" and value.isdigit():
            return max(1, int(value))
    return 10


def _deliver_mime(emu: MicrosoftEmulator, sender: Account, raw: bytes, save: bool) -> None:
    """Deliver to every recipient the emulator holds (without Bcc) and file the sender's copy."""
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    if not parsed.get("Message-ID"):
        parsed["Message-ID"] = make_msgid(domain=sender.email.rpartition("@")[2])
    if not parsed.get("Date"):
        parsed["Date"] = format_datetime(datetime.now(UTC))
    recipients = [
        address.lower()
        for _, address in getaddresses([str(parsed.get(h, "")) for h in ("To", "Cc", "Bcc")])
    ]
    if save:
        emu.deliver(sender.email, parsed.as_bytes(), "sentitems")
    del parsed["Bcc"]
    for address in dict.fromkeys(recipients):
        if address in emu.accounts:
            emu.deliver(address, parsed.as_bytes())


def _mime_from_json(sender: Account, message: dict[str, Any]) -> bytes:
    built = EmailMessage()
    built["From"] = sender.email
    for header, key in (("To", "toRecipients"), ("Cc", "ccRecipients"), ("Bcc", "bccRecipients")):
        people = [r["emailAddress"]["address"] for r in message.get(key) or []]
        if people:
            built[header] = ", ".join(people)
    built["Subject"] = message.get("subject", "")
    built.set_content(str((message.get("body") or {}).get("content", "")))
    return built.as_bytes()


SIGN_IN_PAGE = """<!doctype html><html><head><title>Sign in to your account</title></head>
<body><h1>Pick an account</h1><p><b>{client}</b> wants to read and send your mail.</p>
<form method="post">{hidden}<fieldset><legend>Account</legend>{accounts}</fieldset>
<h2>Permissions requested</h2><ul>{scopes}</ul>
<button name="action" value="accept">Accept</button>
<button name="action" value="cancel">Cancel</button></form></body></html>"""


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    auth = request.headers.get("authorization", "")
    if auth.startswith("Basic "):
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        return unquote(user), unquote(password)
    return form.get("client_id", ""), form.get("client_secret", "")


def _endpoint(path: str) -> str:
    """The request counter's key: the path with ids and tenants generalised."""
    parts = path.strip("/").split("/")
    if "oauth2" in parts:
        return parts[-1]  # authorize, token
    if parts[-1] == "openid-configuration":
        return "openid-configuration"
    if path.endswith("/$value"):
        return "$value"
    return "/".join(parts[2:]) or "me"  # after v1.0/me


def build_app(emu: MicrosoftEmulator) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def count_and_throttle(request: Request, call_next: Any) -> Response:
        path = request.url.path
        emu.requests[_endpoint(path)] += 1
        if path.startswith("/v1.0/") and (garbled := emu.garble.take()) is not None:
            return garbled
        throttled = (
            emu.throttling.take(f"{request.method} {request.url}")
            if path.startswith("/v1.0/")
            else None
        )
        if throttled is not None:
            status, retry_after = throttled
            return graph_error(
                status,
                "TooManyRequests" if status == 429 else "ServiceUnavailable",
                "Application is over its MailboxConcurrency limit.",
                **{"Retry-After": retry_after},
            )
        response: Response = await call_next(request)
        if response.status_code >= 400:
            emu.errors[f"{response.status_code} {_endpoint(path)}"] += 1
        return response

    # -- identity platform ------------------------------------------------------------------

    @app.get("/{tenant}/v2.0/.well-known/openid-configuration")
    async def openid_configuration(tenant: str) -> Response:
        with emu.lock:
            known = emu.tenants.get(tenant)
        if known is None and tenant not in _MULTI_TENANT:
            return _aad_error("invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        base = f"{emu.url}/{tenant}"
        return JSONResponse(
            {
                "issuer": f"{emu.url}/{known.id if known else '{tenantid}'}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token"],
                "code_challenge_methods_supported": ["plain", "S256"],
                "tenant_region_scope": known.region_scope if known else None,
                **(
                    {"tenant_region_sub_scope": known.sub_scope}
                    if known and known.sub_scope
                    else {}
                ),
                "cloud_instance_name": known.cloud_instance if known else "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
            }
        )

    def _sign_in_problem(p: dict[str, str]) -> str | None:
        """Problems shown on the page itself: never redirect to an unregistered address."""
        if p.get("client_id") != emu.client_id:
            return (
                f"AADSTS700016: Application with identifier '{p.get('client_id')}' was not found."
            )
        if p.get("redirect_uri") not in emu.redirect_uris:
            return "AADSTS50011: The redirect URI specified in the request does not match."
        return None

    def _back(p: dict[str, str], **answer: str) -> RedirectResponse:
        query = urlencode({**answer, **({"state": p["state"]} if "state" in p else {})})
        return RedirectResponse(f"{p['redirect_uri']}?{query}", status_code=302)

    @app.get("/{tenant}/oauth2/v2.0/authorize")
    async def authorize(tenant: str, request: Request) -> Response:
        p = dict(request.query_params)
        if (problem := _sign_in_problem(p)) is not None:
            return HTMLResponse(
                "<h1>Sorry, but we're having trouble signing you in.</h1>"
                f"<p>{html.escape(problem)}</p>",
                400,
            )
        if p.get("response_type") != "code":
            return _back(p, error="unsupported_response_type", error_description="code only")
        if not p.get("code_challenge") or p.get("code_challenge_method") != "S256":
            return _back(p, error="invalid_request", error_description="PKCE S256 is required.")
        with emu.lock:
            accounts = [
                a for a in emu.accounts.values() if tenant in _MULTI_TENANT or a.tenant == tenant
            ]
        hint = p.get("login_hint", "").lower()
        choices = "".join(
            f'<label><input type="radio" name="account" value="{html.escape(a.email)}"'
            f"{' checked' if a.email == hint or (not hint and i == 0) else ''}> "
            f"{html.escape(a.name or a.email)} &lt;{html.escape(a.email)}&gt;</label><br>"
            for i, a in enumerate(accounts)
        )
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in p.items()
        )
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in p.get("scope", "").split())
        page = SIGN_IN_PAGE.format(
            client=html.escape(emu.client_id), hidden=hidden, accounts=choices, scopes=scopes
        )
        return HTMLResponse(page)

    @app.post("/{tenant}/oauth2/v2.0/authorize")
    async def decide(tenant: str, request: Request) -> Response:
        p = {k: str(v) for k, v in (await request.form()).items()}
        if (problem := _sign_in_problem(p)) is not None:
            return HTMLResponse(html.escape(problem), 400)
        if p.get("action") != "accept":
            return _back(p, error="access_denied", error_description="The user cancelled sign-in.")
        with emu.lock:
            if p.get("account", "").lower() not in emu.accounts:
                return HTMLResponse("Pick an account.", 400)
            code = "0.AR" + secrets.token_urlsafe(24)
            emu._codes[code] = {
                "email": p["account"].lower(),
                "client_id": p["client_id"],
                "redirect_uri": p["redirect_uri"],
                "challenge": p["code_challenge"],
                "scopes": tuple(p.get("scope", "").split()),
                "expires": time.time() + 600,
            }
        return _back(p, code=code)

    @app.post("/{tenant}/oauth2/v2.0/token")
    async def token(tenant: str, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id, secret = _client_credentials(request, form)
        if client_id != emu.client_id or secret != emu.client_secret:
            return _aad_error("invalid_client", 7000215, "Invalid client secret provided.", 401)
        with emu.lock:
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                issued = emu._codes.pop(form.get("code", ""), None)
                if issued is None or issued["expires"] < time.time():
                    return _aad_error(
                        "invalid_grant",
                        70008,
                        "The provided authorization code is expired or redeemed.",
                    )
                if issued["redirect_uri"] != form.get("redirect_uri"):
                    return _aad_error("invalid_grant", 50148, "The redirect_uri does not match.")
                if _s256(form.get("code_verifier", "")) != issued["challenge"]:
                    return _aad_error(
                        "invalid_grant",
                        501481,
                        "The Code_Verifier does not match the code_challenge.",
                    )
                return JSONResponse(emu._issue(Grant(issued["email"], client_id, issued["scopes"])))
            if grant_type == "refresh_token":
                refresh = form.get("refresh_token", "")
                grant = emu._grants.get(refresh)
                if grant is None or grant.revoked or grant.client_id != client_id:
                    return _aad_error(
                        "invalid_grant",
                        50173,
                        "The provided grant has expired due to it being revoked.",
                    )
                return JSONResponse(emu._issue(grant))
        return _aad_error("unsupported_grant_type", 70003, f"'{grant_type}' is not supported.")

    # -- Graph ------------------------------------------------------------------------------

    def signed_in(request: Request, needs: str) -> Account | JSONResponse:
        grant = emu._grant_for(request)
        if grant is None:
            return graph_error(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        if needs not in {_short_scope(s) for s in grant.scopes}:
            return graph_error(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        return emu.accounts[grant.email]

    def folder_of(name: str) -> str | None:
        lowered = name.lower()
        if lowered in FOLDER_IDS:
            return lowered
        return next((k for k, v in FOLDER_IDS.items() if v == name), None)

    @app.get("/v1.0/me")
    async def me(request: Request) -> Response:
        account = signed_in(request, _NEEDS["me"])
        if isinstance(account, JSONResponse):
            return account
        user = {
            "id": hashlib.sha256(account.email.encode()).hexdigest()[:32],
            "displayName": account.name,
            "mail": account.email,
            "userPrincipalName": account.email,
            "proxyAddresses": [f"SMTP:{account.email}", *(f"smtp:{a}" for a in account.aliases)],
        }
        select = request.query_params.get("$select")
        if select is None:
            user.pop("proxyAddresses")
            return JSONResponse(user)
        return JSONResponse({k: v for k, v in user.items() if k in select.split(",")})

    @app.get("/v1.0/me/mailboxSettings")
    async def mailbox_settings(request: Request) -> Response:
        account = signed_in(request, _NEEDS["settings"])
        if isinstance(account, JSONResponse):
            return account
        return JSONResponse({"userPurpose": account.purpose, "timeZone": "UTC"})

    @app.get("/v1.0/me/mailFolders")
    async def mail_folders(request: Request) -> Response:
        account = signed_in(request, "Mail.ReadWrite")
        if isinstance(account, JSONResponse):
            return account
        return JSONResponse({"value": [folder_resource(account, name) for name in FOLDER_IDS]})

    def folder_resource(account: Account, name: str) -> dict[str, Any]:
        return {
            "id": FOLDER_IDS[name],
            "displayName": _FOLDER_NAMES[name],
            "totalItemCount": len(emu.live_messages(account.email, name)),
        }

    @app.get("/v1.0/me/mailFolders/{folder_id}")
    async def mail_folder(folder_id: str, request: Request) -> Response:
        account = signed_in(request, "Mail.ReadWrite")
        if isinstance(account, JSONResponse):
            return account
        name = folder_of(folder_id)
        if name is None:
            return graph_error(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return JSONResponse(folder_resource(account, name))

    @app.get("/v1.0/me/mailFolders/{folder_id}/messages")
    async def list_messages(folder_id: str, request: Request) -> Response:
        account = signed_in(request, "Mail.ReadWrite")
        if isinstance(account, JSONResponse):
            return account
        name = folder_of(folder_id)
        if name is None:
            return graph_error(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        params = request.query_params
        found = emu.live_messages(account.email, name)
        expression = params.get("$filter", "")
        if expression.startswith("internetMessageId eq "):
            wanted = expression.removeprefix("internetMessageId eq ")[1:-1].replace("''", "'")
            found = [m for m in found if str(m.parsed().get("Message-ID", "")).strip() == wanted]
        elif expression.startswith("receivedDateTime ge "):
            since = _parse_time(expression.split()[-1])
            found = [m for m in found if m.received >= since]
        found.sort(key=lambda m: m.received, reverse=True)
        select = tuple(params["$select"].split(",")) if "$select" in params else None
        top = int(params.get("$top", "10"))
        body: dict[str, Any] = {"value": [message_resource(m, select) for m in found[:top]]}
        if params.get("$count") == "true":
            body["@odata.count"] = len(found)
        return JSONResponse(body)

    @app.get("/v1.0/me/mailFolders/{folder_id}/messages/delta")
    async def delta(folder_id: str, request: Request) -> Response:
        account = signed_in(request, "Mail.ReadWrite")
        if isinstance(account, JSONResponse):
            return account
        name = folder_of(folder_id)
        if name is None:
            return graph_error(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        params = request.query_params
        with emu.lock:
            token = params.get("$skiptoken") or params.get("$deltatoken")
            if token is None:
                round_ = emu._new_round(request, account.email, name)
            else:
                stored = emu._rounds.get(token)
                if (
                    stored is None
                    or stored.generation != emu._generation
                    or stored.email != account.email
                ):
                    return graph_error(
                        410, "syncStateNotFound", "The sync state generation is not found."
                    )
                round_ = stored
                if "$deltatoken" in params:  # a new round: what changed since the last one
                    round_ = replace(stored, baseline=stored.upto, upto=emu._seq, offset=0)
            items = _round_items(emu, round_)
            size = _page_size(request)
            page = items[round_.offset : round_.offset + size]
            link = f"{emu.url}/v1.0/me/mailFolders/{name}/messages/delta"
            body: dict[str, Any] = {
                "@odata.context": f"{emu.url}/v1.0/$metadata#Collection(message)",
                "value": page,
            }
            if round_.offset + size < len(items):
                after = replace(round_, offset=round_.offset + size)
                body["@odata.nextLink"] = f"{link}?$skiptoken={emu._token(after)}"
            else:
                body["@odata.deltaLink"] = f"{link}?$deltatoken={emu._token(round_)}"
        return JSONResponse(body, headers={"Preference-Applied": f"odata.maxpagesize={size}"})

    @app.get("/v1.0/me/messages/{message_id}/$value")
    async def raw_message(message_id: str, request: Request) -> Response:
        account = signed_in(request, "Mail.ReadWrite")
        if isinstance(account, JSONResponse):
            return account
        with emu.lock:
            message = account.messages.get(message_id)
        if message is None or message.deleted_seq is not None:
            return graph_error(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        return Response(message.raw, media_type="text/plain")

    @app.post("/v1.0/me/sendMail")
    async def send_mail(request: Request) -> Response:
        account = signed_in(request, _NEEDS["send"])
        if isinstance(account, JSONResponse):
            return account
        body = await request.body()
        if request.headers.get("content-type", "").startswith("text/plain"):
            try:
                raw = base64.b64decode(body, validate=True)
            except ValueError:
                return graph_error(
                    400,
                    "ErrorMimeContentInvalidBase64String",
                    "Invalid base64 string for MIME content.",
                )
            save = True
        else:
            payload = json.loads(body)
            raw = _mime_from_json(account, payload["message"])
            save = payload.get("saveToSentItems", True) is not False
        with emu.lock:
            _deliver_mime(emu, account, raw, save)
        return Response(status_code=202)

    return app


def message_bytes(
    sender: str, to: str, subject: str, *, message_id: str | None = None, in_reply_to: str = ""
) -> bytes:
    """A small RFC 5322 message for tests to deliver."""
    headers = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Date: {format_datetime(datetime.now(UTC))}",
        f"Message-ID: {message_id or make_msgid(domain='example.test')}",
    ]
    if in_reply_to:
        headers += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    return ("\r\n".join(headers) + "\r\n\r\nHello\r\n").encode()
