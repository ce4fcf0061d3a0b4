"""The servers a benchmark run needs, all on loopback and all started by the harness: a CA,
Dovecot (IMAP with STARTTLS, LMTP), Postfix, and real ``inboxlink serve`` processes."""

from __future__ import annotations

import secrets
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from tests.support.api_helpers import run_cli
from tests.support.certs import make_ca
from tests.support.dns_server import DnsServer
from tests.support.dovecot import Dovecot, open_to_daemons
from tests.support.live_server import LiveServer
from tests.support.postfix import Postfix

PASSWORD = "bench-secret-pw"


def server_root(prefix: str) -> Path:
    """A folder the daemons' own users can reach (not 0700, unlike pytest's)."""
    root = Path(tempfile.mkdtemp(prefix=f"inboxlink-bench-{prefix}-"))
    open_to_daemons(root)
    return root


def wait_for(check: Callable[[], Any], timeout: float, interval: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached in time")
        time.sleep(interval)


@dataclass
class Crm:
    """One inboxlink process with its own data folder, a super-admin and an API token."""

    server: LiveServer
    headers: dict[str, str]
    client: httpx.Client

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def pid(self) -> int:
        assert self.server.process is not None
        return self.server.process.pid

    def post(self, path: str, json: dict[str, Any], **extra: Any) -> httpx.Response:
        headers = {**self.headers, **extra.pop("headers", {})}
        return self.client.post(f"{self.url}{path}", json=json, headers=headers, **extra)

    def get(self, path: str, **extra: Any) -> httpx.Response:
        return self.client.get(f"{self.url}{path}", headers=self.headers, **extra)

    def add_contacts(self, emails: Iterable[str]) -> dict[str, int]:
        found = {}
        for email in emails:
            response = self.post("/api/v1/contacts", {"email": email})
            response.raise_for_status()
            found[email] = int(response.json()["id"])
        return found

    def connect_inbox(self, lab: Lab, email: str, password: str = PASSWORD, **extra: Any) -> int:
        dovecot = extra.pop("dovecot", lab.dovecot)
        response = self.post(
            "/api/v1/inboxes",
            {
                "kind": "personal",
                "provider": "imap",
                "email": email,
                "password": password,
                "imap": {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "starttls"},
                "smtp": {
                    "host": "127.0.0.1",
                    "port": lab.postfix.smtp_port,
                    "security": "starttls",
                },
            },
            timeout=120,
        )
        if response.status_code != 201:
            raise RuntimeError(f"connect failed: {response.status_code} {response.text[:500]}")
        return int(response.json()["id"])

    def sync_state(self, inbox_id: int) -> dict[str, Any]:
        state: dict[str, Any] = self.get(f"/api/v1/inboxes/{inbox_id}").json()["sync"]
        return state

    def wait_synced(self, inbox_id: int, timeout: float, interval: float = 0.01) -> None:
        wait_for(lambda: self.sync_state(inbox_id)["backfill_complete"], timeout, interval)

    def timeline(self, contact_id: int, limit: int = 50) -> list[dict[str, Any]]:
        response = self.get(f"/api/v1/contacts/{contact_id}/timeline", params={"limit": limit})
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    def stop(self) -> None:
        self.client.close()
        self.server.stop()


class Lab:
    """CA + Dovecot (all extensions) + Postfix; ``crm()`` starts inboxlink processes."""

    def __init__(self) -> None:
        self._stack = ExitStack()
        self._roots: list[Path] = []
        pki = self._root("pki")
        self.ca = make_ca(pki)
        self.cert_pair = self.ca.issue(pki, ["localhost", "127.0.0.1", "mail.example.test"])
        self.ca_file = self.ca.cert_path
        # A DNS server that answers at once (NXDOMAIN for the lab's domains), as a working
        # resolver would: with none, every provider-migration check the worker runs for a
        # new inbox waited for DNS timeouts, inside the idle-CPU window.
        self.dns = DnsServer(self._root("dns"))
        self.dns.start()
        self._stack.callback(self.dns.stop)
        self.dovecot = self.start_dovecot()
        root = self._root("postfix")
        self.postfix = self._stack.enter_context(Postfix(root, self.dovecot, cert=self.cert_pair))

    def _root(self, prefix: str) -> Path:
        root = server_root(prefix)
        self._roots.append(root)
        return root

    def start_dovecot(self, capabilities: str | None = None) -> Dovecot:
        server = Dovecot(self._root("dovecot"), cert=self.cert_pair, capabilities=capabilities)
        return self._stack.enter_context(server)

    def user(self, prefix: str, dovecot: Dovecot | None = None) -> str:
        email = f"{prefix}-{secrets.token_hex(3)}@example.test"
        (dovecot or self.dovecot).add_user(email, PASSWORD)
        return email

    def crm(self, env: dict[str, str] | None = None) -> Crm:
        data = self._root("crm")
        run_cli(data, "db", "upgrade")
        run_cli(data, "admin", "create-user", "boss@acme.test", "--password", PASSWORD,
                "--role", "super-admin")  # fmt: skip
        token = run_cli(data, "admin", "create-token", "boss@acme.test").strip().splitlines()[-1]
        server = LiveServer(
            data,
            env={
                "INBOXLINK_ALLOW_PRIVATE_NETWORKS": "1",
                "INBOXLINK_EXTRA_CA_FILE": str(self.ca_file),
                "INBOXLINK_DNS_NAMESERVERS": self.dns.nameserver,
                "INBOXLINK_DNS_TIMEOUT_SECONDS": "0.2",
                **(env or {}),
            },
        )
        server.start()
        crm = Crm(server, {"Authorization": f"Bearer {token}"}, httpx.Client(timeout=60))
        self._stack.callback(crm.stop)
        return crm

    def close(self) -> None:
        self._stack.close()
        # Removed in the background: the 100k-message folders took minutes to delete, after
        # every figure was already measured.
        subprocess.Popen(["rm", "-rf", *map(str, self._roots)], start_new_session=True)

    def __enter__(self) -> Lab:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
