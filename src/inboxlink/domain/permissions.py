"""Who may do what: the one place that answers permission questions (SPEC §1)."""

from __future__ import annotations

from dataclasses import dataclass

from inboxlink.domain.enums import InboxKind, Role


@dataclass(frozen=True, slots=True)
class Actor:
    """The user acting, as much as the rules need to know."""

    user_id: int
    account_id: int
    role: Role


@dataclass(frozen=True, slots=True)
class InboxRef:
    account_id: int
    kind: InboxKind
    owner_id: int | None


def is_admin(actor: Actor) -> bool:
    """Super admins and users with the account-access permission manage account settings."""
    return actor.role in (Role.SUPER_ADMIN, Role.ACCOUNT_ACCESS)


def can_manage_account_settings(actor: Actor) -> bool:
    """Team channels, domain IMAP/SMTP settings, never-log list, logging policy."""
    return is_admin(actor)


def can_see_inbox(actor: Actor, inbox: InboxRef) -> bool:
    """Personal inboxes are their owner's alone; team inboxes are seen by the whole account."""
    if inbox.account_id != actor.account_id:
        return False
    if inbox.kind is InboxKind.TEAM:
        return True
    return inbox.owner_id == actor.user_id


def can_manage_inbox(actor: Actor, inbox: InboxRef) -> bool:
    if inbox.account_id != actor.account_id:
        return False
    if inbox.kind is InboxKind.TEAM:
        return is_admin(actor)
    return inbox.owner_id == actor.user_id


def can_create_user(actor: Actor) -> bool:
    return actor.role is Role.SUPER_ADMIN


def can_see_channel(actor: Actor, inbox: InboxRef, members: frozenset[int]) -> bool:
    """A team channel's threads: the whole account, unless an admin restricted the channel to
    chosen users (``members``); admins, who manage channels, always see them."""
    if inbox.kind is not InboxKind.TEAM or not can_see_inbox(actor, inbox):
        return False
    return not members or actor.user_id in members or is_admin(actor)
