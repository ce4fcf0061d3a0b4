"""Reading inboxes and moving them through their lifecycle (with history and audit)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc
from inboxlink.domain.enums import InboxKind
from inboxlink.domain.inbox_state import InboxState, check_transition
from inboxlink.domain.permissions import Actor, InboxRef, can_see_inbox
from inboxlink.errors import NotFound
from inboxlink.store.tables import Alias, AuditEntry, Inbox, InboxStateChange


def inbox_ref(inbox: Inbox) -> InboxRef:
    return InboxRef(
        account_id=inbox.account_id, kind=InboxKind(inbox.kind), owner_id=inbox.owner_id
    )


async def visible_inboxes(
    session: AsyncSession, actor: Actor, *, kind: InboxKind | None = None
) -> list[Inbox]:
    """Inboxes the actor may see: their own personal ones and the account's team inboxes."""
    query = (
        select(Inbox)
        .where(Inbox.account_id == actor.account_id, Inbox.state != InboxState.REMOVED.value)
        .order_by(Inbox.id)
    )
    if kind is not None:
        query = query.where(Inbox.kind == kind.value)
    rows = await session.scalars(query)
    return [inbox for inbox in rows if can_see_inbox(actor, inbox_ref(inbox))]


async def get_inbox(session: AsyncSession, actor: Actor, inbox_id: int) -> Inbox:
    """The inbox, or 404 when it does not exist or belongs to someone else (no existence leak)."""
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None or inbox.state == InboxState.REMOVED.value:
        raise NotFound("inbox")
    if not can_see_inbox(actor, inbox_ref(inbox)):
        raise NotFound("inbox")
    return inbox


async def aliases_of(session: AsyncSession, inbox_ids: list[int]) -> dict[int, list[Alias]]:
    found: dict[int, list[Alias]] = {i: [] for i in inbox_ids}
    if inbox_ids:
        for alias in await session.scalars(select(Alias).where(Alias.inbox_id.in_(inbox_ids))):
            found[alias.inbox_id].append(alias)
    return found


def inbox_dict(inbox: Inbox, aliases: list[Alias]) -> dict[str, Any]:
    return {
        "id": inbox.id,
        "kind": inbox.kind,
        "provider": inbox.provider,
        "email": inbox.email,
        "owner_id": inbox.owner_id,
        "state": inbox.state,
        "inbox_automation": inbox.inbox_automation,
        #: When automation was last turned on: mail dated earlier is left alone.
        "automation_since": as_utc(inbox.automation_since).isoformat()
        if inbox.inbox_automation and inbox.automation_since
        else None,
        "aliases": [{"email": a.email, "name": a.name} for a in aliases],
        "visibility": {"crm_sent": inbox.visibility_crm_sent, "other": inbox.visibility_other},
        "sync": {
            "state": inbox.sync_state,
            "messages_scanned": inbox.messages_scanned,
            "messages_logged": inbox.messages_logged,
            "messages_unreadable": inbox.messages_unreadable,
            "backfill_total": inbox.backfill_total,
            "backfill_complete": inbox.backfill_complete,
            "last_sync_at": as_utc(inbox.last_sync_at).isoformat() if inbox.last_sync_at else None,
            "last_error": (
                {"code": inbox.last_error_code, "message": inbox.last_error_message}
                if inbox.last_error_code
                else None
            ),
        },
    }


def record(
    session: AsyncSession, inbox: Inbox, *, actor_id: int | None, action: str, detail: str = ""
) -> None:
    """An audit-log line: who (a user, or the system when ``actor_id`` is None) did what."""
    session.add(
        AuditEntry(
            account_id=inbox.account_id,
            actor_user_id=actor_id,
            action=action,
            inbox_id=inbox.id,
            detail=detail,
        )
    )


def transition(
    session: AsyncSession, inbox: Inbox, target: InboxState, *, actor_id: int | None, reason: str
) -> None:
    """Move ``inbox`` to ``target`` if the lifecycle allows it, keeping history and audit."""
    current = InboxState(inbox.state)
    check_transition(current, target)
    inbox.state = target.value
    if target in (InboxState.REMOVED, InboxState.DISCONNECTED_MIGRATED):
        inbox.active_email = None  # the address may be connected again (R1: the new inbox)
    if target is InboxState.REMOVED:
        inbox.credentials = None
    session.add(
        InboxStateChange(
            inbox_id=inbox.id,
            from_state=current.value,
            to_state=target.value,
            actor_user_id=actor_id,
            reason=reason,
        )
    )
    record(session, inbox, actor_id=actor_id, action=f"inbox.{target.value}", detail=reason)
