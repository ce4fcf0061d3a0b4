"""An emulator of Google's OAuth 2.0 endpoints and the Gmail API, as a real HTTP server.

Written from Google's public references (OAuth 2.0 for web server apps, token revocation,
Gmail API v1: users.getProfile, labels.list, messages.list/get/send, history.list,
settings.sendAs.list). The product reaches it only through its base-URL settings:
``INBOXLINK_GOOGLE_ACCOUNTS_URL`` and ``INBOXLINK_GOOGLE_API_URL`` both set to ``.url``.

Mailboxes live in memory, keyed by address; mail sent to an address the emulator holds is
delivered there. Tests flip switches on the object (``advanced_protection``, ``revoke_grants``,
``expire_history``, ``throttle``, ``access_token_seconds``) and read ``requests`` (a count per
endpoint) to check that the product neither storms nor skips.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.utils import getaddresses
from typing import Any
from urllib.parse import unquote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from tests.emulators.server import BackgroundServer, Garbler
from tests.emulators.throttle import Throttle
from tests.support.ports import free_port

SYSTEM_LABELS = ("INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "UNREAD", "IMPORTANT", "STARRED")


@dataclass
class StoredMessage:
    id: str
    raw: bytes
    labels: set[str]
    internal_date_ms: int

    def headers(self) -> list[tuple[str, str]]:
        parsed = message_from_bytes(self.raw, policy=policy.compat32)
        return [(k, re.sub(r"\r?\n[ \t]*", " ", str(v))) for k, v in parsed.items()]

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers() if k.lower() == name.lower()), "")


@dataclass
class Mailbox:
    email: str
    name: str = ""
    aliases: dict[str, str] = field(default_factory=dict)  # sendAs address → display name
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    #: history records: {"id": n, "kind": "messageAdded"|"messageDeleted", "message": id, labels}
    history: list[dict[str, Any]] = field(default_factory=list)
    history_id: int = 1000
    oldest_history: int = 0

    def record(self, kind: str, message: StoredMessage) -> None:
        self.history_id += 1
        self.history.append(
            {
                "id": self.history_id,
                "kind": kind,
                "message": message.id,
                "labels": set(message.labels),
            }
        )


@dataclass
class Grant:
    email: str
    client_id: str
    scope: str
    refresh_token: str
    revoked: bool = False


class GoogleEmulator:
    """State plus switches; ``start()`` serves it on a loopback port."""

    def __init__(self, client_id: str = "emulated-client", client_secret: str = "emulated-secret"):
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris: set[str] = set()
        self.mailboxes: dict[str, Mailbox] = {}
        self.lock = threading.RLock()
        self.requests: Counter[str] = Counter()
        #: Error answers served, as "status endpoint" (throttling refusals not included).
        self.errors: Counter[str] = Counter()
        self.revoked_tokens: list[str] = []
        # switches
        self.advanced_protection: set[str] = set()
        self.access_token_seconds = 3600
        #: scopes the user unticks on the consent page (Google's granular consent)
        self.withheld_scopes: set[str] = set()
        self.throttling = Throttle()
        #: ``garble.arm(n, body, type)``: the next n Gmail API answers are not JSON
        self.garble = Garbler()
        # OAuth state
        self._codes: dict[str, dict[str, str]] = {}
        self._grants: list[Grant] = []
        self._access: dict[str, tuple[Grant, float]] = {}
        self._ids = 0
        self.port = free_port()
        self._server: BackgroundServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- test-facing setup and switches --------------------------------------------------

    def add_account(
        self, email: str, name: str = "", aliases: dict[str, str] | None = None
    ) -> Mailbox:
        with self.lock:
            box = Mailbox(email.lower(), name, dict(aliases or {}))
            self.mailboxes[box.email] = box
            return box

    def deliver(
        self, email: str, raw: bytes, labels: tuple[str, ...] = ("INBOX",), *, age_days: float = 0
    ) -> str:
        """Put a message into a mailbox (as if it arrived ``age_days`` ago); returns its id."""
        with self.lock:
            box = self.mailboxes[email.lower()]
            self._ids += 1
            message = StoredMessage(
                f"{self._ids:016x}", raw, set(labels), int((time.time() - age_days * 86400) * 1000)
            )
            box.messages[message.id] = message
            box.record("messageAdded", message)
            return message.id

    def delete(self, email: str, message_id: str) -> None:
        with self.lock:
            box = self.mailboxes[email.lower()]
            box.record("messageDeleted", box.messages.pop(message_id))

    def revoke_grants(self, email: str) -> None:
        """As if the user removed the app's access: refreshes answer ``invalid_grant``."""
        with self.lock:
            for grant in self._grants:
                if grant.email == email.lower():
                    grant.revoked = True

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is rejected (401) from now on."""
        with self.lock:
            self._access.clear()

    def expire_history(self, email: str) -> None:
        """history.list answers 404 for every start id issued until now."""
        with self.lock:
            box = self.mailboxes[email.lower()]
            box.oldest_history = box.history_id + 1
            box.history_id += 1

    def throttle(self, count: int, retry_after: str = "1", status: int = 429) -> None:
        """The next ``count`` Gmail API requests answer ``status`` (429 rate limit, 503
        backend error) with this Retry-After."""
        self.throttling.arm(count, retry_after, status)

    # -- server ---------------------------------------------------------------------------

    def start(self) -> GoogleEmulator:
        self._server = BackgroundServer(
            build_app(self), host="127.0.0.1", port=self.port, name="Google emulator"
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    # -- OAuth internals ------------------------------------------------------------------

    def _issue(self, grant: Grant) -> dict[str, Any]:
        token = "ya29." + secrets.token_urlsafe(24)
        self._access[token] = (grant, time.time() + self.access_token_seconds)
        claims = {"iss": self.url, "aud": grant.client_id, "email": grant.email}
        id_token = (
            ".".join(
                base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
                for part in ({"alg": "none"}, claims)
            )
            + "."
        )
        return {
            "access_token": token,
            "expires_in": self.access_token_seconds,
            "scope": grant.scope,
            "token_type": "Bearer",
            "id_token": id_token,
        }

    def _grant_for(self, request: Request) -> Grant | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        found = self._access.get(token)
        if found is None or found[1] < time.time() or found[0].revoked:
            return None
        return found[0]


def _google_error(
    status: int, message: str, reason: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    auth = request.headers.get("authorization", "")
    if auth.startswith("Basic "):
        user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        return unquote(user), unquote(password)
    return form.get("client_id", ""), form.get("client_secret", "")


CONSENT_PAGE = """<!doctype html><html><head><title>Sign in - Google Accounts</title></head>
<body><h1>Choose an account</h1><p>to continue to <b>{client}</b></p>
<form method="post" action="/o/oauth2/v2/auth/decision">{hidden}
<fieldset><legend>Account</legend>{accounts}</fieldset>
<h2>inboxlink wants to access your Google Account</h2><ul>{scopes}</ul>
<button name="decision" value="allow">Allow</button>
<button name="decision" value="deny">Deny</button></form></body></html>"""


def _matches_query(message: StoredMessage, q: str) -> bool:
    """The few search operators the product uses: newer_than:Nd, in:label, rfc822msgid:id."""
    for term in q.split():
        key, _, value = term.partition(":")
        if key == "newer_than":
            ok = message.internal_date_ms >= (time.time() - int(value.rstrip("d")) * 86400) * 1000
        elif key == "in":
            ok = value.upper() in message.labels
        elif key == "rfc822msgid":
            ok = message.header("Message-ID").strip().strip("<>") == value.strip("<>")
        else:
            ok = True
        if not ok:
            return False
    return True


def build_app(emu: GoogleEmulator) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Response:
        path = request.url.path
        name = re.sub(r"/messages/(?!send)[^/]+$", "/messages/{id}", path)
        emu.requests[f"{request.method} {name}"] += 1
        if path.startswith("/gmail/") and (garbled := emu.garble.take()) is not None:
            return garbled
        if path.startswith("/gmail/") and (
            refusal := emu.throttling.take(f"{request.method} {request.url}")
        ):
            status, retry_after = refusal
            if status == 429:
                message, reason = "Too many concurrent requests for user.", "rateLimitExceeded"
            else:
                message, reason = "Backend Error", "backendError"
            return _google_error(status, message, reason, {"Retry-After": retry_after})
        response: Response = await call_next(request)
        if response.status_code >= 400:
            emu.errors[f"{response.status_code} {request.method} {name}"] += 1
        return response

    # -- OAuth ----------------------------------------------------------------------------

    @app.get("/o/oauth2/v2/auth")
    async def authorize(request: Request) -> Response:
        p = dict(request.query_params)
        if p.get("client_id") != emu.client_id:
            return HTMLResponse("<h1>Error 401: invalid_client</h1>", status_code=401)
        if p.get("redirect_uri") not in emu.redirect_uris:
            return HTMLResponse("<h1>Error 400: redirect_uri_mismatch</h1>", status_code=400)
        if (
            p.get("response_type") != "code"
            or p.get("code_challenge_method") != "S256"
            or not p.get("code_challenge")
        ):
            return HTMLResponse(
                "<h1>Error 400: invalid_request (PKCE S256 required)</h1>", status_code=400
            )
        hint = (p.get("login_hint") or "").lower()
        keep = ("client_id", "redirect_uri", "state", "scope", "code_challenge")
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(p.get(k, ""))}">' for k in keep
        )
        with emu.lock:
            accounts = "".join(
                f'<label><input type="radio" name="account" value="{html.escape(e)}"'
                f"{' checked' if e == hint or (not hint and i == 0) else ''}> "
                f"{html.escape(b.name or e)} &lt;{html.escape(e)}&gt;</label><br>"
                for i, (e, b) in enumerate(emu.mailboxes.items())
            )
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in p.get("scope", "").split())
        return HTMLResponse(
            CONSENT_PAGE.format(
                client=html.escape(emu.client_id), hidden=hidden, accounts=accounts, scopes=scopes
            )
        )

    @app.post("/o/oauth2/v2/auth/decision")
    async def decide(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        target, state = form["redirect_uri"], form.get("state", "")
        if target not in emu.redirect_uris:
            return HTMLResponse("<h1>Error 400: redirect_uri_mismatch</h1>", status_code=400)
        email = form.get("account", "").lower()
        if form.get("decision") != "allow":
            answer = {"error": "access_denied", "state": state}
        elif email in emu.advanced_protection:
            answer = {
                "error": "policy_enforced",
                "error_description": "Access blocked: inboxlink is not approved by Advanced "
                "Protection",
                "state": state,
            }
        else:
            code = "4/" + secrets.token_urlsafe(24)
            granted = " ".join(
                s for s in form.get("scope", "").split() if s not in emu.withheld_scopes
            )
            with emu.lock:
                emu._codes[code] = {
                    "email": email,
                    "client_id": form["client_id"],
                    "redirect_uri": target,
                    "challenge": form["code_challenge"],
                    "scope": granted,
                }
            answer = {"code": code, "scope": granted, "state": state}
        return RedirectResponse(f"{target}?{urlencode(answer)}", status_code=302)

    @app.post("/token")
    async def token(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        client_id, secret = _client_credentials(request, form)
        if client_id != emu.client_id or secret != emu.client_secret:
            return _oauth_error("invalid_client", "The OAuth client was not found.", 401)
        with emu.lock:
            if form.get("grant_type") == "authorization_code":
                issued = emu._codes.pop(form.get("code", ""), None)  # single use
                if issued is None or issued["redirect_uri"] != form.get("redirect_uri"):
                    return _oauth_error("invalid_grant", "Malformed auth code.")
                if _s256(form.get("code_verifier", "")) != issued["challenge"]:
                    return _oauth_error("invalid_grant", "Invalid code verifier.")
                grant = Grant(
                    issued["email"], client_id, issued["scope"], "1//" + secrets.token_urlsafe(32)
                )
                emu._grants.append(grant)
                return JSONResponse({**emu._issue(grant), "refresh_token": grant.refresh_token})
            if form.get("grant_type") == "refresh_token":
                found = next(
                    (g for g in emu._grants if g.refresh_token == form.get("refresh_token")), None
                )
                if found is None or found.revoked:
                    return _oauth_error("invalid_grant", "Token has been expired or revoked.")
                return JSONResponse(emu._issue(found))
        return _oauth_error("unsupported_grant_type", "Invalid grant_type.")

    @app.post("/revoke")
    async def revoke(request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        value = form.get("token") or request.query_params.get("token", "")
        with emu.lock:
            for grant in emu._grants:
                access = [t for t, (g, _) in emu._access.items() if g is grant]
                if not grant.revoked and value in (grant.refresh_token, *access):
                    grant.revoked = True
                    emu.revoked_tokens.append(value)
                    return JSONResponse({})
        return _oauth_error("invalid_token", "Token expired or revoked")

    # -- Gmail ----------------------------------------------------------------------------

    base = "/gmail/v1/users/me"

    def authorised(request: Request, scope: str = "gmail.modify") -> Mailbox | JSONResponse:
        """The caller's mailbox, if its token is live and carries ``scope`` (or full access)."""
        grant = emu._grant_for(request)
        if grant is None:
            return _google_error(
                401, "Request had invalid authentication credentials.", "authError"
            )
        granted = {s.rpartition("/auth/")[2] for s in grant.scope.split()}
        if not granted & {scope, "gmail.modify", "https://mail.google.com/"}:
            return _google_error(
                403, "Request had insufficient authentication scopes.", "insufficientPermissions"
            )
        return emu.mailboxes[grant.email]

    def not_found(what: str = "Requested entity was not found.") -> JSONResponse:
        return _google_error(404, what, "notFound")

    @app.get(f"{base}/profile")
    async def profile(request: Request) -> Response:
        box = authorised(request)
        if isinstance(box, JSONResponse):
            return box
        return JSONResponse(
            {
                "emailAddress": box.email,
                "messagesTotal": len(box.messages),
                "threadsTotal": len(box.messages),
                "historyId": str(box.history_id),
            }
        )

    @app.get(f"{base}/labels")
    async def labels(request: Request) -> Response:
        box = authorised(request)
        if isinstance(box, JSONResponse):
            return box
        return JSONResponse(
            {"labels": [{"id": n, "name": n, "type": "system"} for n in SYSTEM_LABELS]}
        )

    @app.get(f"{base}/settings/sendAs")
    async def send_as(request: Request) -> Response:
        box = authorised(request, "gmail.settings.basic")
        if isinstance(box, JSONResponse):
            return box
        entries = [
            {
                "sendAsEmail": box.email,
                "displayName": box.name,
                "isPrimary": True,
                "isDefault": True,
            }
        ]
        entries += [
            {"sendAsEmail": a, "displayName": n, "verificationStatus": "accepted"}
            for a, n in box.aliases.items()
        ]
        return JSONResponse({"sendAs": entries})

    @app.get(f"{base}/messages")
    async def list_messages(request: Request) -> Response:
        box = authorised(request)
        if isinstance(box, JSONResponse):
            return box
        wanted = set(request.query_params.getlist("labelIds"))
        q = request.query_params.get("q", "")
        size = int(request.query_params.get("maxResults", 100))
        token = request.query_params.get("pageToken", "0")
        if not token.isdigit():
            return _google_error(400, "Invalid pageToken", "invalidArgument")
        start = int(token)
        with emu.lock:
            found = sorted(
                (m for m in box.messages.values() if wanted <= m.labels and _matches_query(m, q)),
                key=lambda m: m.internal_date_ms,
                reverse=True,
            )
        page = found[start : start + size]
        body: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if page:
            body["messages"] = [{"id": m.id, "threadId": m.id} for m in page]
        if start + size < len(found):
            body["nextPageToken"] = str(start + size)
        return JSONResponse(body)

    @app.get(base + "/messages/{message_id}")
    async def get_message(request: Request, message_id: str) -> Response:
        box = authorised(request)
        if isinstance(box, JSONResponse):
            return box
        message = box.messages.get(message_id)
        if message is None:
            return not_found()
        body: dict[str, Any] = {
            "id": message.id,
            "threadId": message.id,
            "labelIds": sorted(message.labels),
            "internalDate": str(message.internal_date_ms),
            "historyId": str(box.history_id),
        }
        fmt = request.query_params.get("format", "full")
        if fmt == "raw":
            body["raw"] = base64.urlsafe_b64encode(message.raw).decode()
        elif fmt in ("metadata", "full"):
            names = {n.lower() for n in request.query_params.getlist("metadataHeaders")}
            body["payload"] = {
                "headers": [
                    {"name": k, "value": v}
                    for k, v in message.headers()
                    if not names or k.lower() in names
                ]
            }
        return JSONResponse(body)

    @app.post(f"{base}/messages/send")
    async def send(request: Request) -> Response:
        box = authorised(request, "gmail.send")
        if isinstance(box, JSONResponse):
            return box
        payload = await request.json()
        raw = base64.urlsafe_b64decode(payload["raw"] + "=" * (-len(payload["raw"]) % 4))
        parsed = message_from_bytes(raw, policy=policy.compat32)
        sender = (getaddresses([parsed.get("From", "")]) or [("", "")])[0][1].lower()
        if sender != box.email and sender not in box.aliases:
            del parsed["From"]  # Gmail replaces a From that is not a verified send-as address
            parsed["From"] = box.email
        recipients = {
            a.lower()
            for _, a in getaddresses(
                parsed.get_all("To", []) + parsed.get_all("Cc", []) + parsed.get_all("Bcc", [])
            )
        }
        del parsed["Bcc"]
        delivered = parsed.as_bytes()
        with emu.lock:
            sent_id = emu.deliver(box.email, delivered, ("SENT",))
            for address in recipients & set(emu.mailboxes):
                emu.deliver(address, delivered, ("INBOX", "UNREAD"))
        return JSONResponse({"id": sent_id, "threadId": sent_id, "labelIds": ["SENT"]})

    @app.get(f"{base}/history")
    async def history(request: Request) -> Response:
        box = authorised(request)
        if isinstance(box, JSONResponse):
            return box
        params = request.query_params
        start = int(params.get("startHistoryId", 0))
        if start < box.oldest_history:
            return not_found()
        label = params.get("labelId")
        kinds = set(params.getlist("historyTypes")) or {"messageAdded", "messageDeleted"}
        size = int(params.get("maxResults", 100))
        offset = int(params.get("pageToken", 0))
        with emu.lock:
            matching = [
                r
                for r in box.history
                if r["id"] > start
                and r["kind"] in kinds
                and (label is None or label in r["labels"])
            ]
        page = matching[offset : offset + size]
        records = []
        for r in page:
            item = {
                "message": {
                    "id": r["message"],
                    "threadId": r["message"],
                    "labelIds": sorted(r["labels"]),
                }
            }
            key = "messagesAdded" if r["kind"] == "messageAdded" else "messagesDeleted"
            records.append({"id": str(r["id"]), "messages": [item["message"]], key: [item]})
        body: dict[str, Any] = {"historyId": str(box.history_id)}
        if records:
            body["history"] = records
        if offset + size < len(matching):
            body["nextPageToken"] = str(offset + size)
        return JSONResponse(body)

    return app


def message_bytes(
    sender: str, to: str, subject: str, *, message_id: str | None = None, body: str = "Hello"
) -> bytes:
    """A small RFC 5322 message for tests to deliver."""
    msgid = message_id or f"<{secrets.token_hex(8)}@example.test>"
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
        f"Message-ID: {msgid}\r\n\r\n{body}\r\n"
    ).encode()
