"""Channels: which team inboxes exist, where they go, who sees them, and deleting one (D2, D3).

A team inbox is connected through the OAuth flow (``services.oauth_connect``); the admin's
choice of destination waits in ``channel_requests`` under the OAuth state's hash until the
provider sends the browser back, then becomes the inbox's ``channels`` row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.clock import as_utc, utcnow
from inboxlink.conversations.model import DESTINATION_NAMES, Destination
from inboxlink.domain.enums import InboxKind
from inboxlink.domain.inbox_state import InboxState
from inboxlink.domain.permissions import Actor, can_manage_account_settings, can_see_channel
from inboxlink.errors import Forbidden, NotFound
from inboxlink.notifications.inbox import notify
from inboxlink.notifications.recipients import disconnect_recipients
from inboxlink.runtime import Runtime
from inboxlink.services import lifecycle
from inboxlink.services.inboxes import inbox_ref
from inboxlink.store.tables import Channel, ChannelMember, ChannelRequest, Inbox, User

REQUEST_LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class ChannelView:
    inbox: Inbox
    destination: Destination
    members: frozenset[int]


def require_admin(actor: Actor) -> None:
    if not can_manage_account_settings(actor):
        raise Forbidden("Only super admins and users with account access manage team channels.")


async def _views(session: AsyncSession, account_id: int, inbox_id: int | None) -> list[ChannelView]:
    query = (
        select(Inbox, Channel.destination)
        .outerjoin(Channel, Channel.inbox_id == Inbox.id)
        .where(
            Inbox.account_id == account_id,
            Inbox.kind == InboxKind.TEAM.value,
            Inbox.state != InboxState.REMOVED.value,
        )
        .order_by(Inbox.id)
    )
    if inbox_id is not None:
        query = query.where(Inbox.id == inbox_id)
    rows = (await session.execute(query)).all()
    members: dict[int, set[int]] = {}
    if rows:
        found = await session.execute(
            select(ChannelMember.inbox_id, ChannelMember.user_id).where(
                ChannelMember.inbox_id.in_([inbox.id for inbox, _ in rows])
            )
        )
        for channel_id, user_id in found:
            members.setdefault(channel_id, set()).add(user_id)
    # A team inbox whose channel row is missing (a crash right after connecting) still shows.
    return [
        ChannelView(
            inbox, Destination(destination or Destination.CONVERSATIONS),
            frozenset(members.get(inbox.id, ())),
        )
        for inbox, destination in rows
    ]  # fmt: skip


async def visible_channels(
    session: AsyncSession, actor: Actor, destination: Destination | None = None
) -> list[ChannelView]:
    """The channels whose threads ``actor`` may see, optionally of one destination."""
    return [
        view
        for view in await _views(session, actor.account_id, None)
        if can_see_channel(actor, inbox_ref(view.inbox), view.members)
        and (destination is None or view.destination is destination)
    ]


async def get_channel(session: AsyncSession, actor: Actor, inbox_id: int) -> ChannelView:
    """The channel, or 404 when it does not exist or is not shown to ``actor``."""
    views = await _views(session, actor.account_id, inbox_id)
    if not views or not can_see_channel(actor, inbox_ref(views[0].inbox), views[0].members):
        raise NotFound("channel")
    return views[0]


def channel_dict(view: ChannelView) -> dict[str, Any]:
    inbox = view.inbox
    return {
        "id": inbox.id,
        "email": inbox.email,
        "provider": inbox.provider,
        "state": inbox.state,
        "destination": view.destination.value,
        "destination_name": DESTINATION_NAMES[view.destination],
        "connected_by_id": inbox.connected_by_id,
        "members": sorted(view.members),
        "created_at": as_utc(inbox.created_at).isoformat(),
    }


async def remember_destination(session: AsyncSession, state_hash: str, destination: str) -> None:
    """Keep the admin's choice for the consent round trip (expired requests are swept)."""
    await session.execute(delete(ChannelRequest).where(ChannelRequest.expires_at < utcnow()))
    session.add(
        ChannelRequest(
            state_hash=state_hash,
            destination=Destination(destination).value,
            expires_at=utcnow() + REQUEST_LIFETIME,
        )
    )


async def attach_channel(session: AsyncSession, inbox_id: int, state_hash: str) -> None:
    """Make the freshly saved team inbox a channel of the destination chosen before consent."""
    request = await session.get(ChannelRequest, state_hash)
    destination = request.destination if request else Destination.CONVERSATIONS.value
    if request is not None:
        await session.delete(request)
    session.add(Channel(inbox_id=inbox_id, destination=destination))


async def set_members(
    session: AsyncSession, actor: Actor, inbox_id: int, user_ids: list[int]
) -> ChannelView:
    """Restrict a channel to chosen users of the account; an empty list opens it to all."""
    require_admin(actor)
    view = await get_channel(session, actor, inbox_id)
    valid = set(
        await session.scalars(
            select(User.id).where(User.account_id == actor.account_id, User.id.in_(user_ids))
        )
    )
    if await session.get(Channel, inbox_id) is None:
        session.add(Channel(inbox_id=inbox_id, destination=view.destination.value))
        await session.flush()
    await session.execute(delete(ChannelMember).where(ChannelMember.inbox_id == inbox_id))
    session.add_all(ChannelMember(inbox_id=inbox_id, user_id=uid) for uid in sorted(valid))
    await session.flush()
    return await get_channel(session, actor, inbox_id)


async def delete_channel(
    session: AsyncSession, runtime: Runtime, actor: Actor, inbox_id: int
) -> list[str]:
    """D2 in one step (disable, then remove with revocation), then the D3 notifications.

    Returns the provider-side steps (D4). Stored threads stay: they are account history.
    """
    require_admin(actor)
    view = await get_channel(session, actor, inbox_id)
    inbox = view.inbox
    if inbox.state in (InboxState.CONNECTED.value, InboxState.NEEDS_RECONNECT.value):
        await lifecycle.disable(session, actor, inbox.id)
    steps = await lifecycle.remove(session, runtime, actor, inbox.id)
    remover = await session.get(User, actor.user_id)
    by = f" by {remover.name or remover.email}" if remover else ""
    await notify(
        session,
        account_id=inbox.account_id,
        user_ids=await disconnect_recipients(session, inbox),
        kind="team_inbox_disconnected",
        title=f"Team inbox {inbox.email} was disconnected",
        body=(
            f"The {DESTINATION_NAMES[view.destination].lower()} channel {inbox.email} was "
            f"deleted{by}. Its conversations are kept; no new mail arrives from it."
        ),
        inbox_id=inbox.id,
    )
    return steps
