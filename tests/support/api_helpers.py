"""Small helpers shared by the API-level integration tests."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from inboxlink.domain.inbox_state import InboxState
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Inbox
from tests.support.accounts import Person

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 20.0) -> T:
    """Poll an async check until it returns something truthy (work runs in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.1)


async def add_inbox(runtime: Runtime, owner_id: int, account_id: int, email: str) -> int:
    """A connected inbox row without credentials, for tests of rules that need no server."""
    async with runtime.sessions() as session:
        inbox = Inbox(
            account_id=account_id,
            kind="personal",
            provider="imap",
            email=email,
            active_email=email,
            owner_id=owner_id,
            connected_by_id=owner_id,
            state=InboxState.CONNECTED.value,
            settings={},
        )
        session.add(inbox)
        await session.commit()
        return inbox.id


async def add_contact(api: httpx.AsyncClient, person: Person, email: str) -> int:
    response = await api.post("/api/v1/contacts", json={"email": email}, headers=person.headers)
    return int(response.json()["id"])


async def timeline(api: httpx.AsyncClient, person: Person, contact_id: int) -> list[dict[str, Any]]:
    response = await api.get(f"/api/v1/contacts/{contact_id}/timeline", headers=person.headers)
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def run_cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``inboxlink`` as a user would, on a data directory of its own (and its SQLite
    database unless ``env`` names another)."""
    full = {**os.environ, "INBOXLINK_DATA_DIR": str(data_dir)}
    full.pop("INBOXLINK_DATABASE_URL", None)
    full.update(env or {})
    done = subprocess.run(
        [sys.executable, "-m", "inboxlink", *args],
        env=full,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def cli_admin_token(
    data_dir: Path, email: str = "boss@acme.test", env: dict[str, str] | None = None
) -> str:
    """Set up a data directory the way an operator would: migrate, create a super admin and
    an API token with the CLI. Returns the token (the last line ``create-token`` prints)."""
    run_cli(data_dir, "db", "upgrade", env=env)
    run_cli(
        data_dir,
        "admin",
        "create-user",
        email,
        "--password",
        "long enough pw",
        "--role",
        "super-admin",
        env=env,
    )
    return run_cli(data_dir, "admin", "create-token", email, env=env).strip().splitlines()[-1]
