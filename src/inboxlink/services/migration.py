"""Provider migration (SPEC R1, G2): notice that a connected domain's mail moved.

The MX records of each connected custom domain are re-checked (daily, and whenever the
provider rejects the credentials). Gmail ⇄ Office 365 moves disconnect the old inbox by
themselves with a notification; a move to any other provider marks the inbox as needing
attention, telling the user to remove it and connect the new one.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from inboxlink.clock import as_utc, utcnow
from inboxlink.discovery.recommend import recommend
from inboxlink.domain.enums import Provider
from inboxlink.domain.inbox_state import InboxState
from inboxlink.errors import AppError
from inboxlink.notifications.inbox import notify
from inboxlink.notifications.recipients import disconnect_recipients
from inboxlink.runtime import Runtime
from inboxlink.services.inboxes import transition
from inboxlink.store.tables import Inbox

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(days=1)
_OAUTH = {Provider.GMAIL.value, Provider.MICROSOFT.value}
_NAMES = {"gmail": "Google (Gmail)", "microsoft": "Microsoft 365", "imap": "another provider"}
#: IMAP hosts run by Google or Microsoft: an IMAP inbox there has not "moved" to them.
_BIG_HOSTS = ("gmail.com", "googlemail.com", "google.com", "outlook.com", "office365.com")


def _moved_to(inbox: Inbox, recommended: str) -> str | None:
    """The provider the mail now lives at, when that is not where the inbox connects."""
    if recommended in ("unknown", "unsupported", inbox.provider):
        return None
    if inbox.provider in _OAUTH:
        return recommended
    host = str(inbox.settings.get("imap", {}).get("host", ""))
    if recommended in _OAUTH and not host.endswith(_BIG_HOSTS):
        return recommended
    return None


async def check_migration(runtime: Runtime, inbox_id: int) -> bool:
    """Re-check one inbox's domain; True when a move was found and acted on."""
    async with runtime.sessions() as session:
        inbox = await session.get(Inbox, inbox_id)
    if inbox is None or inbox.state not in (InboxState.CONNECTED, InboxState.NEEDS_RECONNECT):
        return False
    try:
        recommendation = await recommend(inbox.email, runtime.resolver)
    except AppError:
        return False
    if recommendation.reason == "well_known_domain":
        moved = None  # gmail.com, outlook.com … cannot move
    else:
        moved = _moved_to(inbox, recommendation.provider)
    async with runtime.sessions() as session, session.begin():
        current = await session.get(Inbox, inbox_id)
        assert current is not None
        current.migration_checked_at = utcnow()
        if moved is None:
            return False
        automatic = current.provider in _OAUTH and moved in _OAUTH
        target = InboxState.DISCONNECTED_MIGRATED if automatic else InboxState.NEEDS_RECONNECT
        if current.state == target.value:
            return False
        recipients = await disconnect_recipients(session, current)
        where = _NAMES.get(moved, moved)
        if automatic:
            reason = (
                f"The mail of {current.email} has moved to {where}, so this inbox was "
                f"disconnected. Connect your new inbox to go on: Connect personal email, "
                f"then choose {where}."
            )
        else:
            reason = (
                f"The mail of {current.email} now seems to be hosted by {where}. Remove this "
                "inbox, then connect the new one."
            )
        transition(session, current, target, actor_id=None, reason=reason)
        current.sync_state = "stopped"
        current.last_error_code = "provider_migrated"
        current.last_error_message = reason
        await notify(
            session,
            account_id=current.account_id,
            user_ids=recipients,
            kind="provider_migration",
            title=f"{current.email} moved to {where}",
            body=reason,
            inbox_id=current.id,
        )
    log.info("inbox %s: provider migration to %s detected", inbox_id, moved)
    return True


async def due_for_check(runtime: Runtime) -> list[int]:
    cutoff = utcnow() - CHECK_EVERY
    async with runtime.sessions() as session:
        rows = await session.execute(
            select(Inbox.id, Inbox.migration_checked_at).where(
                Inbox.state == InboxState.CONNECTED.value
            )
        )
        return [i for i, at in rows if at is None or as_utc(at) < cutoff]
