"""Keeps one inbox in sync: sync, wait for a change (IDLE or polling), sync what changed --
recovering by itself from transient failures with capped exponential backoff and jitter.

Only a failure the user must fix (credentials rejected) changes the inbox's state; a
timeout, refused connection or server restart only delays it (issue 6: transient is not fatal).
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from sqlalchemy import select

from inboxlink.clock import as_utc, utcnow
from inboxlink.connectors import connector_for, folders_of
from inboxlink.domain.inbox_state import ACTIVE_STATES, InboxState
from inboxlink.errors import AppError
from inboxlink.notifications.inbox import notify
from inboxlink.notifications.recipients import disconnect_recipients
from inboxlink.providers.errors import ConnectorError
from inboxlink.runtime import Runtime
from inboxlink.services.inboxes import transition
from inboxlink.services.migration import check_migration
from inboxlink.store.tables import Inbox, Notification
from inboxlink.sync.engine import InboxSync

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0
#: How long an inbox may stay delayed before its owner is told (issue 6).
DELAY_NOTICE = timedelta(hours=1)


def backoff_seconds(failures: int) -> float:
    """1 s, 2 s, 4 s … capped at 5 minutes, ±20 % jitter so inboxes do not retry in step."""
    return min(2.0 ** max(failures - 1, 0), MAX_BACKOFF_SECONDS) * random.uniform(0.8, 1.2)


async def _active_inbox(runtime: Runtime, inbox_id: int) -> Inbox | None:
    async with runtime.sessions() as session:
        inbox = await session.get(Inbox, inbox_id)
    if inbox is None or InboxState(inbox.state) not in ACTIVE_STATES:
        return None
    return inbox


async def _record_delay(runtime: Runtime, inbox_id: int, error: AppError) -> None:
    """Show *delayed* with the reason; tell the owner once if it lasts DELAY_NOTICE."""
    async with runtime.sessions() as session, session.begin():
        inbox = await session.get(Inbox, inbox_id)
        if inbox is None:
            return
        inbox.sync_state = "delayed"
        inbox.last_error_code, inbox.last_error_message = error.code, error.message
        now = utcnow()
        if inbox.delayed_since is None:
            inbox.delayed_since = now
            return
        since = as_utc(inbox.delayed_since)
        if now - since < DELAY_NOTICE:
            return
        told = await session.scalar(
            select(Notification.id).where(
                Notification.inbox_id == inbox.id,
                Notification.kind == "sync_delayed",
                Notification.created_at >= since,
            )
        )
        if told is None:
            await notify(
                session,
                account_id=inbox.account_id,
                user_ids=await disconnect_recipients(session, inbox),
                kind="sync_delayed",
                title=f"{inbox.email} has not synced since {since:%Y-%m-%d %H:%M} UTC",
                body=f"{error.message} inboxlink keeps trying and fetches everything it "
                "missed once the server answers again.",
                inbox_id=inbox.id,
            )


async def _needs_reconnect(runtime: Runtime, inbox_id: int, error: AppError) -> None:
    async with runtime.sessions() as session, session.begin():
        inbox = await session.get(Inbox, inbox_id)
        if inbox is None or inbox.state != InboxState.CONNECTED.value:
            return
        transition(session, inbox, InboxState.NEEDS_RECONNECT, actor_id=None, reason=error.message)
        inbox.sync_state = "stopped"
        inbox.last_error_code, inbox.last_error_message = error.code, error.message
        await notify(
            session,
            account_id=inbox.account_id,
            user_ids=await disconnect_recipients(session, inbox),
            kind="needs_reconnect",
            title=f"Reconnect {inbox.email}",
            body=f"inboxlink can no longer sign in to {inbox.email}: {error.message}",
            inbox_id=inbox.id,
        )


async def watch_inbox(runtime: Runtime, inbox_id: int) -> None:
    """Run until the inbox is no longer active (disabled, removed, needs reconnect).

    Syncs only when the connector reports a change. A wait that ends without one (every
    ``poll_seconds``; with IMAP, IDLE covers INBOX, and Sent too where the server offers
    NOTIFY, else a STATUS at the end of each wait) costs no query: the inbox is only
    confirmed up to date, in memory (``sync.confirmations``). The engine stops
    the watcher of an inbox disabled or removed (``Scheduler.inbox_changed``); the watcher
    checks for itself after each change and when the confirmations' write finds it inactive.
    """
    failures = 0
    while (inbox := await _active_inbox(runtime, inbox_id)) is not None:
        asked = 0.0  # what the server asked to wait (Retry-After, back-off), if anything
        connector = connector_for(runtime, inbox)
        try:
            sync, folders = InboxSync(runtime.sessions, inbox_id, connector), folders_of(inbox)
            await sync.sync(folders)
            failures = 0
            while True:
                if await connector.wait_for_change(runtime.settings.poll_seconds):
                    if await _active_inbox(runtime, inbox_id) is None:
                        return
                    await sync.sync(folders)
                elif (
                    not await runtime.confirmations.confirm(inbox_id)
                    and await _active_inbox(runtime, inbox_id) is None
                ):
                    return
        except ConnectorError as error:
            if not error.transient:
                log.warning("inbox %s: %s (%s)", inbox_id, error.code, error.message)
                # Rejected credentials are often the first sign that the mail moved (G2).
                if not await check_migration(runtime, inbox_id):
                    await _needs_reconnect(runtime, inbox_id, error)
                return
            failures += 1
            asked = error.retry_after or 0.0
            await _record_delay(runtime, inbox_id, error)
        except (OSError, TimeoutError) as error:
            failures += 1
            await _record_delay(
                runtime,
                inbox_id,
                AppError(
                    "connection_lost",
                    f"The connection to the mail server dropped ({error})."
                    " inboxlink retries by itself.",
                ),
            )
        finally:
            await connector.close()
        delay = max(backoff_seconds(failures), asked)
        log.info(
            "inbox %s: retrying in %.1f s (failure %d) at %s",
            inbox_id,
            delay,
            failures,
            utcnow().isoformat(),
        )
        await asyncio.sleep(delay)
