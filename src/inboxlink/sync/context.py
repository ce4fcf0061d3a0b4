"""What the logging rules need to know about an inbox and a batch, read from the store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.domain.enums import InboxKind, LoggingPolicy
from inboxlink.store.batching import slices
from inboxlink.store.tables import Account, Alias, Contact, Inbox, Message, NeverLog


@dataclass(frozen=True, slots=True)
class InboxContext:
    account_id: int
    inbox_id: int
    owner_id: int | None
    own_addresses: frozenset[str]
    policy: LoggingPolicy
    never_log: frozenset[str]
    #: Team inboxes keep every message (T1: the team works the whole mailbox); personal
    #: inboxes only what is logged on a contact's timeline.
    store_everything: bool


async def inbox_context(session: AsyncSession, inbox: Inbox) -> InboxContext:
    aliases = await session.scalars(select(Alias.email).where(Alias.inbox_id == inbox.id))
    account = await session.get(Account, inbox.account_id)
    patterns = await session.scalars(
        select(NeverLog.pattern).where(NeverLog.account_id == inbox.account_id)
    )
    return InboxContext(
        account_id=inbox.account_id,
        inbox_id=inbox.id,
        owner_id=inbox.owner_id,
        own_addresses=frozenset({inbox.email, *aliases}),
        policy=LoggingPolicy(account.logging_policy if account else LoggingPolicy.ALL_CONTACT_MAIL),
        never_log=frozenset(patterns),
        store_everything=inbox.kind == InboxKind.TEAM.value,
    )


async def contacts_among(
    session: AsyncSession, account_id: int, addresses: Iterable[str]
) -> dict[str, int]:
    """Contact ids by address, for the addresses of a batch (one query per batch)."""
    found: dict[str, int] = {}
    for chunk in slices(addresses):
        rows = await session.execute(
            select(Contact.email, Contact.id).where(
                Contact.account_id == account_id, Contact.email.in_(chunk)
            )
        )
        found.update({email: contact_id for email, contact_id in rows})
    return found


async def known_message_ids(
    session: AsyncSession, account_id: int, message_ids: Iterable[str]
) -> set[str]:
    """Which of ``message_ids`` are already stored (threads sent from or logged in the CRM)."""
    known: set[str] = set()
    for chunk in slices(message_ids):
        rows = await session.scalars(
            select(Message.message_id).where(
                Message.account_id == account_id, Message.message_id.in_(chunk)
            )
        )
        known.update(rows)
    return known
