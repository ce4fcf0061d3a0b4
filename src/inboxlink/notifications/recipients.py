"""Who is told when an inbox is disconnected: its owner for a personal inbox; for a team
inbox the D3 set (every super admin and account-access user, and who connected it)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.domain.enums import InboxKind, Role
from inboxlink.domain.recipients import team_disconnect_recipients
from inboxlink.store.tables import Inbox, User


async def disconnect_recipients(session: AsyncSession, inbox: Inbox) -> set[int]:
    if inbox.kind != InboxKind.TEAM.value:
        return {inbox.owner_id} if inbox.owner_id else set()
    rows = await session.execute(
        select(User.id, User.role).where(User.account_id == inbox.account_id)
    )
    return team_disconnect_recipients(
        ((uid, Role(role)) for uid, role in rows), inbox.connected_by_id
    )
