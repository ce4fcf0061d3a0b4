"""An emulator of an on-premises Exchange server: POX Autodiscover, EWS (SOAP) and an OWA page,
as a real HTTPS server on port 443 of a loopback address (plus optional plain HTTP on port 80
for the Autodiscover redirect step).

Written from Microsoft's public references: the POX Autodiscover request/response
(``…/outlook/requestschema/2006``, ``responseschema/2006a`` with ``EXCH``/``EXPR`` protocols),
the SOAP envelope with ``RequestServerVersion`` and ``ServerVersionInfo``, and the operations
an EWS client uses for mail (see ``ews_soap``). The product reaches it only through DNS (the
test's dnsmasq), so the Autodiscover URLs and EWS URL are the real ones for the test domain.

Mailboxes live in memory. ``CreateItem`` with ``SendAndSaveCopy`` delivers the MIME message
to every recipient the emulator holds (Bcc removed) and files the sender's copy in Sent Items.
``operations`` counts each SOAP operation; ``unknown`` lists operations it does not implement.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Literal
from xml.etree import ElementTree

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tests.emulators.ews_soap import (
    API_ORDER,
    SOAP,
    VERSIONS,
    Operations,
    ServerVersion,
    T,
    envelope,
    fault,
    q,
    server_busy,
)
from tests.emulators.server import BackgroundServer
from tests.emulators.throttle import Throttle

AUTODISCOVER_REQUEST = (
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"
)
AUTODISCOVER_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
OUTLOOK_RESPONSE = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
_FOLDERS = {"inbox": "Inbox", "sentitems": "Sent Items", "drafts": "Drafts", "root": ""}


@dataclass
class StoredItem:
    id: str
    folder: str
    raw: bytes
    received: datetime
    seq: int
    deleted: bool = False

    def parsed(self) -> EmailMessage:
        message = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass(frozen=True)
class Change:
    seq: int
    folder: str
    kind: Literal["create", "delete"]
    item_id: str


@dataclass
class Mailbox:
    email: str
    password: str
    username: str
    items: dict[str, StoredItem] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)

    def live(self, folder: str) -> list[StoredItem]:
        return [i for i in self.items.values() if i.folder == folder and not i.deleted]

    def add(self, folder: str, raw: bytes, seq: int, received: datetime | None = None) -> str:
        item_id = f"AAMkADk{seq:06d}{self.email.split('@')[0][:8]}AAA="
        self.items[item_id] = StoredItem(item_id, folder, raw, received or datetime.now(UTC), seq)
        self.changes.append(Change(seq, folder, "create", item_id))
        return item_id


class EwsEmulator:
    """One Exchange server. ``version`` is a key of ``ews_soap.VERSIONS``."""

    def __init__(
        self,
        address: str,
        certificate: tuple[Path, Path],
        *,
        host: str = "mail.acme.test",
        version: str = "Exchange2016",
    ):
        self.address = address
        self.certificate = certificate
        self.host = host
        self.version: ServerVersion = VERSIONS[version]
        self.lock = threading.RLock()
        self.mailboxes: dict[str, Mailbox] = {}
        self.operations: Counter[str] = Counter()
        self.unknown: list[str] = []
        self.autodiscover_requests: list[str] = []
        #: Where the plain-HTTP Autodiscover redirect step points (set with ``serve_redirect``).
        self.redirect_target = ""
        self._seq = 0
        self.throttling = Throttle()
        self._soap = Operations(self)
        self._servers: list[BackgroundServer] = []

    @property
    def ews_url(self) -> str:
        return f"https://{self.host}/EWS/Exchange.asmx"

    # -- test-facing ----------------------------------------------------------------------

    def add_mailbox(self, email: str, password: str, username: str = "") -> Mailbox:
        with self.lock:
            box = Mailbox(email.lower(), password, username or email.split("@")[0])
            self.mailboxes[box.email] = box
            return box

    def deliver(self, email: str, raw: bytes, *, age_days: float = 0) -> str:
        with self.lock:
            received = datetime.now(UTC) - timedelta(days=age_days)
            return self.mailboxes[email.lower()].add("inbox", raw, self.next_seq(), received)

    def delete(self, email: str, item_id: str) -> None:
        with self.lock:
            box = self.mailboxes[email.lower()]
            item = box.items[item_id]
            item.deleted = True
            box.changes.append(Change(self.next_seq(), item.folder, "delete", item_id))

    def throttle(self, count: int, back_off_seconds: int = 1, status: int = 500) -> None:
        """The next ``count`` EWS requests are refused: 500 is Exchange's ErrorServerBusy
        fault with BackOffMilliseconds, 503 a plain HTTP 503 with Retry-After."""
        self.throttling.arm(count, str(back_off_seconds), status)

    def live(self, email: str, folder: str) -> list[StoredItem]:
        with self.lock:
            return self.mailboxes[email.lower()].live(folder)

    # -- used by the operations -------------------------------------------------------------

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def folder_key(self, name_or_id: str) -> str | None:
        for name in _FOLDERS:
            if name_or_id in (name, self.folder_id(name)):
                return name
        return None

    @staticmethod
    def folder_id(name: str) -> str:
        return "AQMkAD" + base64.b64encode(name.encode()).decode().rstrip("=")

    @staticmethod
    def folder_title(name: str) -> str:
        return _FOLDERS.get(name, name)

    def transport(self, sender: Mailbox, raw: bytes) -> None:
        """Deliver to every recipient this server holds; Bcc is not passed on."""
        message = message_from_bytes(raw, policy=policy.default)
        recipients = {
            address.lower()
            for _, address in getaddresses(
                [str(v) for h in ("To", "Cc", "Bcc") for v in message.get_all(h, [])]
            )
        }
        del message["Bcc"]
        delivered = message.as_bytes(policy=policy.SMTP)
        for address in recipients:
            if address in self.mailboxes:
                self.mailboxes[address].add("inbox", delivered, self.next_seq())

    def authenticate(self, request: Request) -> Mailbox | None:
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return None
        user = user.split("\\")[-1].lower()
        for box in self.mailboxes.values():
            if user in (box.email, box.username.lower()) and password == box.password:
                return box
        return None

    # -- SOAP --------------------------------------------------------------------------------

    def soap(self, body: bytes, box: Mailbox) -> tuple[int, bytes]:
        root = ElementTree.fromstring(body)
        requested = root.find(f"{q(SOAP, 'Header')}/{q(T, 'RequestServerVersion')}")
        asked = requested.get("Version", "") if requested is not None else "Exchange2007_SP1"
        operation = next(iter(root.find(q(SOAP, "Body")) or []), None)
        if operation is None:
            return 400, b"no operation"
        name = operation.tag.split("}")[-1]
        with self.lock:
            self.operations[name] += 1
            if asked not in API_ORDER[: API_ORDER.index(self.version.api) + 1]:
                text = "The specified server version is invalid."
                return 500, envelope(self.version, fault("ErrorInvalidServerVersion", text))
            handler = self._soap.handlers.get(name)
            if handler is None:
                self.unknown.append(name)
                text = f"{name} is not implemented by the emulator"
                return 500, envelope(self.version, fault("ErrorInvalidOperation", text))
            return 200, envelope(self.version, handler(operation, box))

    # -- Autodiscover ------------------------------------------------------------------------

    def autodiscover(self, body: bytes) -> bytes:
        root = ElementTree.fromstring(body)
        email = (root.findtext(f".//{q(AUTODISCOVER_REQUEST, 'EMailAddress')}") or "").lower()
        with self.lock:
            self.autodiscover_requests.append(email)
            known = email in self.mailboxes
        if not known:
            inner = (
                f'<Response><Error Time="{time.strftime("%H:%M:%S")}" Id="2477272013">'
                "<ErrorCode>500</ErrorCode><Message>The email address can't be found."
                "</Message><DebugData /></Error></Response>"
            )
        else:
            protocols = "".join(
                f"<Protocol><Type>{kind}</Type><Server>{self.host}</Server>"
                f"<ASUrl>{self.ews_url}</ASUrl><EwsUrl>{self.ews_url}</EwsUrl></Protocol>"
                for kind in ("EXCH", "EXPR")
            )
            inner = (
                f'<Response xmlns="{OUTLOOK_RESPONSE}"><User><DisplayName>{email}</DisplayName>'
                f"<AutoDiscoverSMTPAddress>{email}</AutoDiscoverSMTPAddress></User>"
                "<Account><AccountType>email</AccountType><Action>settings</Action>"
                f"{protocols}</Account></Response>"
            )
        return (
            f'<?xml version="1.0" encoding="utf-8"?>'
            f'<Autodiscover xmlns="{AUTODISCOVER_RESPONSE}">{inner}</Autodiscover>'
        ).encode()

    # -- servers -----------------------------------------------------------------------------

    def start(self) -> EwsEmulator:
        cert, key = self.certificate
        app = build_app(self)
        self._run(
            BackgroundServer(
                app,
                host=self.address,
                port=443,
                name="EWS emulator",
                ssl_certfile=str(cert),
                ssl_keyfile=str(key),
            )
        )
        return self

    def serve_redirect(self, address: str, target: str) -> None:
        """Plain HTTP on ``address:80`` answering the Autodiscover redirect step with ``target``."""
        self.redirect_target = target
        app = build_redirect_app(self)
        self._run(BackgroundServer(app, host=address, port=80, name="EWS redirect server"))

    def _run(self, server: BackgroundServer) -> None:
        self._servers.append(server.start())

    def stop(self) -> None:
        for server in self._servers:
            server.stop()
        self._servers.clear()


def _challenge(emulator: EwsEmulator) -> Response:
    return Response(
        "401 - Unauthorized",
        status_code=401,
        headers={"WWW-Authenticate": f'Basic realm="{emulator.host}"'},
    )


def build_app(emulator: EwsEmulator) -> FastAPI:
    app = FastAPI()

    @app.post("/EWS/Exchange.asmx")
    @app.post("/ews/exchange.asmx")
    async def ews(request: Request) -> Response:
        body = await request.body()
        box = emulator.authenticate(request)
        if box is None:
            return _challenge(emulator)
        key = f"{request.url} {hashlib.sha256(body).hexdigest()}"  # the same call again
        if refusal := emulator.throttling.take(key):
            status, seconds = refusal
            if status == 503:
                return Response("Service Unavailable", 503, headers={"Retry-After": seconds})
            answer = envelope(emulator.version, server_busy(int(seconds) * 1000))
        else:
            status, answer = emulator.soap(body, box)
        return Response(answer, status_code=status, media_type="text/xml; charset=utf-8")

    @app.post("/autodiscover/autodiscover.xml")
    @app.post("/Autodiscover/Autodiscover.xml")
    async def autodiscover(request: Request) -> Response:
        if emulator.authenticate(request) is None:
            return _challenge(emulator)
        answer = emulator.autodiscover(await request.body())
        return Response(answer, media_type="text/xml; charset=utf-8")

    @app.get("/owa/")
    @app.get("/owa/auth/logon.aspx")
    async def owa() -> HTMLResponse:
        return HTMLResponse("<html><title>Outlook Web App</title><body>Sign in</body></html>")

    return app


def build_redirect_app(emulator: EwsEmulator) -> FastAPI:
    app = FastAPI()

    @app.get("/autodiscover/autodiscover.xml")
    @app.get("/Autodiscover/Autodiscover.xml")
    async def redirect() -> RedirectResponse:
        return RedirectResponse(emulator.redirect_target, status_code=302)

    return app
