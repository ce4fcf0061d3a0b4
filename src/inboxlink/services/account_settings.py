"""Account-wide mail settings managed by admins: IMAP/SMTP settings per domain (P9, first in
the detection chain), the never-log list, and the logging policy."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.discovery.model import DomainServers
from inboxlink.domain.enums import LoggingPolicy
from inboxlink.domain.permissions import Actor, can_manage_account_settings
from inboxlink.domain.servers import ServerSettings
from inboxlink.errors import AppError, Forbidden, NotFound
from inboxlink.store.tables import Account, DomainMailSettings, NeverLog


def _require_admin(actor: Actor) -> None:
    if not can_manage_account_settings(actor):
        raise Forbidden("Only super admins and users with account access change account settings.")


def _domain(value: str) -> str:
    domain = value.strip().lower().lstrip("@").rstrip(".")
    if "." not in domain or any(ch.isspace() or ch in "/@:" for ch in domain):
        raise AppError(
            "invalid_domain", f"{value!r} is not a domain name like acme.com.", status=422
        )
    return domain


def domain_settings_dict(row: DomainMailSettings) -> dict[str, Any]:
    return {"id": row.id, "domain": row.domain, "imap": row.imap, "smtp": row.smtp}


async def list_domain_settings(session: AsyncSession, actor: Actor) -> list[DomainMailSettings]:
    _require_admin(actor)
    rows = await session.scalars(
        select(DomainMailSettings)
        .where(DomainMailSettings.account_id == actor.account_id)
        .order_by(DomainMailSettings.domain)
    )
    return list(rows)


async def save_domain_settings(
    session: AsyncSession, actor: Actor, domain: str, imap: ServerSettings, smtp: ServerSettings
) -> DomainMailSettings:
    """Create or replace the settings for ``domain``."""
    _require_admin(actor)
    name = _domain(domain)
    row = await session.scalar(
        select(DomainMailSettings).where(
            DomainMailSettings.account_id == actor.account_id, DomainMailSettings.domain == name
        )
    )
    if row is None:
        row = DomainMailSettings(account_id=actor.account_id, domain=name)
        session.add(row)
    row.imap = imap.as_dict()
    row.smtp = smtp.as_dict()
    await session.flush()
    return row


async def delete_domain_settings(session: AsyncSession, actor: Actor, settings_id: int) -> None:
    _require_admin(actor)
    row = await session.get(DomainMailSettings, settings_id)
    if row is None or row.account_id != actor.account_id:
        raise NotFound("domain setting")
    await session.delete(row)


async def admin_servers(
    session: AsyncSession, account_id: int, domain: str
) -> DomainServers | None:
    """The detection chain's first source: what an admin saved for the address's domain."""
    row = await session.scalar(
        select(DomainMailSettings).where(
            DomainMailSettings.account_id == account_id, DomainMailSettings.domain == domain
        )
    )
    if row is None:
        return None
    return DomainServers(
        imap=ServerSettings.from_dict(row.imap) if row.imap else None,
        smtp=ServerSettings.from_dict(row.smtp) if row.smtp else None,
    )


async def never_log_list(session: AsyncSession, actor: Actor) -> list[str]:
    rows = await session.scalars(
        select(NeverLog.pattern)
        .where(NeverLog.account_id == actor.account_id)
        .order_by(NeverLog.pattern)
    )
    return list(rows)


async def add_never_log(session: AsyncSession, actor: Actor, entry: str) -> str:
    """An address (``jane@acme.com``) or a domain (``acme.com``) whose mail is never logged."""
    _require_admin(actor)
    value = entry.strip().lower()
    pattern = value if "@" in value.lstrip("@") else _domain(value)
    if pattern not in await never_log_list(session, actor):
        session.add(NeverLog(account_id=actor.account_id, pattern=pattern))
        await session.flush()
    return pattern


async def remove_never_log(session: AsyncSession, actor: Actor, entry: str) -> None:
    _require_admin(actor)
    await session.execute(
        delete(NeverLog).where(
            NeverLog.account_id == actor.account_id, NeverLog.pattern == entry.strip().lower()
        )
    )


async def set_logging_policy(session: AsyncSession, actor: Actor, policy: LoggingPolicy) -> None:
    _require_admin(actor)
    account = await session.get(Account, actor.account_id)
    assert account is not None
    account.logging_policy = policy.value


async def logging_policy(session: AsyncSession, actor: Actor) -> LoggingPolicy:
    account = await session.get(Account, actor.account_id)
    assert account is not None
    return LoggingPolicy(account.logging_policy)
