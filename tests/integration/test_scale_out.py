"""Issue 11: many workers share the inboxes — and the embedded mode keeps the same promises.

Production mode for real: PostgreSQL, ``inboxlink serve --no-worker`` and three
``inboxlink worker`` processes on the procrastinate engine, 60 IMAP inboxes on Dovecot. Every
inbox is watched by exactly one worker (asked of each worker's ``/status``, which lists the
watchers that actually run in it); after ``kill -9`` of a worker its inboxes are watched again
within 60 s and the mail delivered meanwhile reaches the timelines once; a fourth worker gets
a fair part of the inboxes; a drained worker (SIGTERM) hands its inboxes back.

The embedded mode (SQLite, one ``inboxlink serve``) runs the same rounds with the one process
crashed and restarted in place of a worker; joining and draining workers have no embedded
counterpart.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.api_helpers import cli_admin_token
from tests.support.dovecot import Dovecot
from tests.support.live_server import LiveServer
from tests.support.mail_fixtures import MailboxUser, MailPki, new_user
from tests.support.mail_samples import sample_message
from tests.support.postfix import Postfix
from tests.support.store import throwaway_postgres
from tests.support.worker_process import WorkerProcess

INBOXES = 60
FAILOVER_LIMIT = 60.0


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"{what}: not reached within {timeout} s")


class Deployment:
    """Inboxes, the contact who writes to all of them, and the timeline that must show it."""

    def __init__(self, url: str, token: str, dovecot: Dovecot) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.dovecot = dovecot
        self.sender = new_user(dovecot)
        self.users: dict[int, MailboxUser] = {}
        self.contact_id = 0
        self.delivered: set[str] = set()

    def connect(self, dovecot: Dovecot, postfix: Postfix) -> None:
        contact = httpx.post(
            f"{self.url}/api/v1/contacts", json={"email": self.sender.email}, headers=self.headers
        )
        assert contact.status_code == 201, contact.text
        self.contact_id = contact.json()["id"]

        def connect_one(user: MailboxUser) -> tuple[int, MailboxUser]:
            created = httpx.post(
                f"{self.url}/api/v1/inboxes",
                headers=self.headers,
                timeout=60,
                json={
                    "kind": "personal",
                    "provider": "imap",
                    "email": user.email,
                    "password": user.password,
                    "imap": {
                        "host": "127.0.0.1",
                        "port": dovecot.imap_port,
                        "security": "starttls",
                    },
                    "smtp": {
                        "host": "127.0.0.1",
                        "port": postfix.smtp_port,
                        "security": "starttls",
                    },
                },
            )
            assert created.status_code == 201, created.text
            return int(created.json()["id"]), user

        users = [new_user(dovecot) for _ in range(INBOXES)]
        with ThreadPoolExecutor(max_workers=6) as pool:
            self.users = dict(pool.map(connect_one, users))

    def deliver_round(self, name: str, inbox_ids: Iterator[int] | None = None) -> None:
        """One message from the contact to each inbox (LMTP, so IDLE clients hear of it)."""
        for inbox_id in inbox_ids or iter(self.users):
            message_id = f"<{name}-{inbox_id}@scale.example>"
            raw = sample_message(
                self.sender.email,
                self.users[inbox_id].email,
                message_id=message_id,
                subject=f"{name} for inbox {inbox_id}",
                days_ago=0,
            )
            self.dovecot.deliver(self.users[inbox_id].email, raw, sender=self.sender.email)
            self.delivered.add(message_id)

    def send_from(self, inbox_ids: list[int], name: str) -> None:
        """Each inbox emails the contact through the API; every email arrives exactly once and
        is logged once on the timeline."""
        sent = []
        for inbox_id in inbox_ids:
            answer = httpx.post(
                f"{self.url}/api/v1/emails",
                json={
                    "inbox_id": inbox_id,
                    "to": [self.sender.email],
                    "subject": name,
                    "text": name,
                },
                headers={**self.headers, "Idempotency-Key": f"{name}-{inbox_id}"},
                timeout=30,
            )
            assert answer.status_code == 202, answer.text
            sent.append(answer.json())

        def all_sent() -> bool:
            states = [
                httpx.get(
                    f"{self.url}/api/v1/emails/{e['id']}", headers=self.headers, timeout=30
                ).json()["state"]
                for e in sent
            ]
            assert "failed" not in states, states
            return set(states) == {"sent"}

        wait_for(all_sent, 120, "emails sent by the workers")
        for email in sent:
            self.dovecot.wait_for_message(self.sender.email, email["message_id"], timeout=60)
            self.delivered.add(email["message_id"])
        copies = Counter(
            (BytesHeaderParser().parsebytes(raw).get("Message-ID") or "").strip()
            for raw in self.dovecot.messages(self.sender.email)
        )
        assert all(copies[email["message_id"]] == 1 for email in sent), copies

    def timeline_ids(self) -> list[str]:
        items = httpx.get(
            f"{self.url}/api/v1/contacts/{self.contact_id}/timeline",
            params={"limit": 1000},
            headers=self.headers,
            timeout=30,
        ).json()["items"]
        return [str(item["message_id"]) for item in items]

    def wait_until_logged(self, timeout: float = 120) -> None:
        """Every delivered message on the timeline, none twice, nothing unexpected."""
        wait_for(
            lambda: self.delivered <= set(self.timeline_ids()), timeout, "delivered mail logged"
        )
        ids = self.timeline_ids()
        twice = len(ids) - len(set(ids))
        lost = len(self.delivered - set(ids))
        print(
            f"[figures] expected={len(self.delivered)} logged={len(ids)} lost={lost} twice={twice}"
        )
        assert lost == 0 and twice == 0
        assert set(ids) == self.delivered


def exactly_once(workers: list[WorkerProcess], inbox_ids: set[int]) -> list[set[int]] | None:
    """Each worker's inboxes when together they watch every inbox, each exactly once.

    Workers are asked one after another, so an inbox handed from one to the next between two
    questions shows up twice without being watched twice. It counts as a double watch only
    if the later worker had taken it before the earlier one was asked."""
    answers = []
    for worker in (w for w in workers if w.alive):
        asked_at = time.time()
        answers.append((asked_at, worker.holdings()))
    for n, (asked_at, earlier) in enumerate(answers):
        for _later_asked, later in answers[n + 1 :]:
            doubles = {i for i in earlier.keys() & later.keys() if later[i] <= asked_at}
            assert not doubles, f"watched by two workers at once: {sorted(doubles)}"
    held = [set(holding) for _asked, holding in answers]
    union = set().union(*held)
    return held if union == inbox_ids and sum(map(len, held)) == len(union) else None


def spread(held: list[set[int]]) -> str:
    return "/".join(str(len(h)) for h in held)


def memory(workers: list[WorkerProcess]) -> str:
    """Each live worker's inboxes and resident memory: the per-inbox cost docs/scale-out.md
    extrapolates from."""
    return ", ".join(
        f"{len(w.inboxes())} inboxes in {w.rss_kib() / 1024:.1f} MiB" for w in workers if w.alive
    )


@pytest.fixture
def base_env(mail_ca: MailPki) -> dict[str, str]:
    return {
        "INBOXLINK_ALLOW_PRIVATE_NETWORKS": "1",
        "INBOXLINK_EXTRA_CA_FILE": str(mail_ca.ca_file),
        "INBOXLINK_DNS_NAMESERVERS": "127.0.0.1:9",
        "INBOXLINK_DNS_TIMEOUT_SECONDS": "0.2",
    }


def test_workers_share_inboxes_take_over_after_a_crash_and_rebalance(
    tmp_path: Path,
    dovecot: Dovecot,
    postfix: Postfix,
    base_env: dict[str, str],
) -> None:
    with throwaway_postgres() as database_url, ExitStack() as stack:
        env = {
            **base_env,
            "INBOXLINK_DATABASE_URL": database_url,
            "INBOXLINK_JOB_ENGINE": "procrastinate",
            "INBOXLINK_WORKER_HEARTBEAT_SECONDS": "1",
            "INBOXLINK_WORKER_STALLED_SECONDS": "10",
            "INBOXLINK_REBALANCE_SECONDS": "3",
            # five processes on one shared server: stay well inside its max_connections
            "INBOXLINK_DATABASE_POOL_SIZE": "3",
        }
        token = cli_admin_token(tmp_path, env=env)  # `db upgrade` creates procrastinate's tables
        web = LiveServer(tmp_path, env=env, args=["--no-worker"])
        web.start()
        stack.callback(web.stop)
        workers = [WorkerProcess(tmp_path, f"worker-{n}", env=env) for n in range(3)]
        for worker in workers:
            worker.start()
            stack.callback(worker.stop)

        deployment = Deployment(web.url, token, dovecot)
        deployment.connect(dovecot, postfix)
        inbox_ids = set(deployment.users)

        held = wait_for(
            lambda: (h := exactly_once(workers, inbox_ids)) and max(map(len, h)) <= 20 and h,
            90,
            "60 inboxes spread over three workers",
        )
        print(f"[figures] spread over 3 workers: {spread(held)}; {memory(workers)}")
        deployment.deliver_round("first")
        deployment.wait_until_logged()

        victim = max(workers, key=lambda w: len(w.inboxes()))
        orphaned = victim.inboxes()
        victim.kill()
        killed_at = time.monotonic()
        deployment.deliver_round("during-failover")
        held = wait_for(
            lambda: exactly_once(workers, inbox_ids), FAILOVER_LIMIT, "failover of a killed worker"
        )
        failover = time.monotonic() - killed_at
        print(
            f"[figures] kill -9 of a worker holding {len(orphaned)} inboxes: watched again "
            f"after {failover:.1f} s, spread {spread(held)}; {memory(workers)}"
        )
        deployment.wait_until_logged()

        joining = WorkerProcess(tmp_path, "worker-3", env=env)
        joining.start()
        stack.callback(joining.stop)
        workers.append(joining)
        held = wait_for(
            lambda: (h := exactly_once(workers, inbox_ids)) and len(joining.inboxes()) >= 15 and h,
            90,
            "a joining worker takes its share",
        )
        print(f"[figures] after a fourth worker joined: {spread(held)}")
        deployment.deliver_round("after-join")
        deployment.send_from(sorted(inbox_ids)[::6], "sent-by-workers")
        deployment.wait_until_logged()

        draining = next(w for w in workers if w.alive and w is not joining)
        draining.drain()
        held = wait_for(lambda: exactly_once(workers, inbox_ids), 60, "a drained worker's inboxes")
        print(f"[figures] after draining a worker (SIGTERM): {spread(held)}")
        deployment.deliver_round("after-drain")
        deployment.wait_until_logged()


def held_in_process(server: LiveServer) -> int:
    """``inboxlink_inboxes_held`` from the embedded process's own /metrics."""
    for line in httpx.get(f"{server.url}/metrics", timeout=30).text.splitlines():
        if line.startswith("inboxlink_inboxes_held "):
            return int(float(line.split()[1]))
    raise AssertionError("no inboxlink_inboxes_held metric")


def test_embedded_mode_keeps_the_same_promises(
    tmp_path: Path,
    dovecot: Dovecot,
    postfix: Postfix,
    base_env: dict[str, str],
) -> None:
    token = cli_admin_token(tmp_path, env=base_env)
    server = LiveServer(tmp_path, env=base_env)
    server.start()
    try:
        deployment = Deployment(server.url, token, dovecot)
        deployment.connect(dovecot, postfix)
        wait_for(lambda: held_in_process(server) == INBOXES, 90, "every inbox watched")
        deployment.deliver_round("first")
        deployment.send_from(sorted(deployment.users)[::6], "sent-in-process")
        deployment.wait_until_logged()

        server.kill()
        deployment.deliver_round("while-down")
        server.start()
        restarted_at = time.monotonic()
        wait_for(lambda: held_in_process(server) == INBOXES, FAILOVER_LIMIT, "watched again")
        print(
            f"[figures] embedded restart after kill -9: {INBOXES} inboxes watched again after "
            f"{time.monotonic() - restarted_at:.1f} s"
        )
        deployment.deliver_round("after-restart")
        deployment.wait_until_logged()
    finally:
        server.stop()
