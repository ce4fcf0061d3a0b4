"""The tables. Every schema change comes with a migration in ``migrations/versions``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from inboxlink.clock import utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT identities.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


def _id() -> Mapped[int]:
    return mapped_column(Id, primary_key=True, autoincrement=True)


def _fk(target: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> Mapped[Any]:
    return mapped_column(Id, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True)


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = _id()
    name: Mapped[str] = mapped_column(String(200))
    logging_policy: Mapped[str] = mapped_column(String(20), default="all")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    __tablename__ = "login_sessions"
    id: Mapped[int] = _id()
    user_id: Mapped[int] = _fk("users.id")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = _id()
    user_id: Mapped[int] = _fk("users.id")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class Contact(Base):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("account_id", "email"),)
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Inbox(Base):
    """A connected mailbox. ``active_email`` is the address while not removed, else NULL, so the
    unique constraint on it enforces "one owner per address" (P4) yet lets a removed inbox's
    address be connected again."""

    __tablename__ = "inboxes"
    __table_args__ = (UniqueConstraint("account_id", "active_email"),)
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    kind: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(320))
    active_email: Mapped[str | None] = mapped_column(String(320))
    owner_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    connected_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    inbox_automation: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(30))
    #: Non-secret connection settings (hosts, ports, security, username, trust flag).
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Vault-sealed secrets (passwords, tokens); NULL once removed.
    credentials: Mapped[str | None] = mapped_column(Text)
    visibility_crm_sent: Mapped[str] = mapped_column(String(20), default="everything")
    visibility_other: Mapped[str] = mapped_column(String(20), default="subject")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Sync progress and health, written by the sync engine.
    sync_state: Mapped[str] = mapped_column(String(20), default="pending")
    messages_scanned: Mapped[int] = mapped_column(Integer, default=0)
    messages_logged: Mapped[int] = mapped_column(Integer, default=0)
    backfill_total: Mapped[int] = mapped_column(Integer, default=0)
    backfill_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    last_sync_at: Mapped[datetime | None]
    last_error_code: Mapped[str | None] = mapped_column(String(60))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    #: When the current run of transient failures began (None while healthy).
    delayed_since: Mapped[datetime | None]
    #: Last time the domain's MX records were checked for a provider move (G2).
    migration_checked_at: Mapped[datetime | None]


class OAuthState(Base):
    """A pending OAuth authorization: single use, bound to the user who started it."""

    __tablename__ = "oauth_states"
    id: Mapped[int] = _id()
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = _fk("users.id")
    provider: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    email_hint: Mapped[str] = mapped_column(String(320), default="")
    inbox_automation: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Vault-sealed PKCE code verifier.
    code_verifier: Mapped[str] = mapped_column(Text)
    reconnect_inbox_id: Mapped[int | None] = _fk("inboxes.id", nullable=True)
    #: Started with an API token: the callback may complete without a browser session.
    via_api: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime]


class InboxStateChange(Base):
    __tablename__ = "inbox_state_changes"
    id: Mapped[int] = _id()
    inbox_id: Mapped[int] = _fk("inboxes.id")
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str] = mapped_column(String(30))
    actor_user_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Alias(Base):
    __tablename__ = "aliases"
    __table_args__ = (UniqueConstraint("inbox_id", "email"),)
    id: Mapped[int] = _id()
    inbox_id: Mapped[int] = _fk("inboxes.id")
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")


class SyncFolder(Base):
    """A folder an inbox syncs, with its opaque checkpoint (written with the batch it covers)."""

    __tablename__ = "sync_folders"
    __table_args__ = (UniqueConstraint("inbox_id", "name"),)
    id: Mapped[int] = _id()
    inbox_id: Mapped[int] = _fk("inboxes.id")
    name: Mapped[str] = mapped_column(String(500))
    role: Mapped[str] = mapped_column(String(20))
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Thread(Base):
    __tablename__ = "threads"
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    subject: Mapped[str] = mapped_column(Text, default="")
    last_message_at: Mapped[datetime | None]


class Message(Base):
    """One email, stored once per account (``dedupe_key``: Message-ID, else a content hash)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("account_id", "dedupe_key"),
        Index("ix_messages_account_msgid", "account_id", "message_id"),
        Index("ix_messages_account_reply_to", "account_id", "in_reply_to"),
    )
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    thread_id: Mapped[int] = _fk("threads.id")
    dedupe_key: Mapped[str] = mapped_column(String(500))
    message_id: Mapped[str] = mapped_column(String(998), default="")
    in_reply_to: Mapped[str] = mapped_column(String(998), default="")
    references: Mapped[list[Any]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    from_addr: Mapped[dict[str, Any]] = mapped_column(default=dict)
    to_addrs: Mapped[list[Any]] = mapped_column(default=list)
    cc_addrs: Mapped[list[Any]] = mapped_column(default=list)
    sent_at: Mapped[datetime]
    snippet: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    sent_from_crm: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageSource(Base):
    """Where a stored message was seen: upsert key (inbox, folder, provider id)."""

    __tablename__ = "message_sources"
    __table_args__ = (UniqueConstraint("inbox_id", "folder", "provider_id"),)
    id: Mapped[int] = _id()
    message_id: Mapped[int] = _fk("messages.id")
    inbox_id: Mapped[int] = _fk("inboxes.id")
    folder: Mapped[str] = mapped_column(String(500))
    provider_id: Mapped[str] = mapped_column(String(200))


class TimelineEntry(Base):
    __tablename__ = "timeline_entries"
    __table_args__ = (
        UniqueConstraint("contact_id", "message_id"),
        Index("ix_timeline_contact_time", "contact_id", "occurred_at", "id"),
    )
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    contact_id: Mapped[int] = _fk("contacts.id")
    message_id: Mapped[int] = _fk("messages.id")
    inbox_id: Mapped[int | None] = _fk("inboxes.id", nullable=True, ondelete="SET NULL")
    direction: Mapped[str] = mapped_column(String(10))
    occurred_at: Mapped[datetime]


class NeverLog(Base):
    __tablename__ = "never_log"
    __table_args__ = (UniqueConstraint("account_id", "pattern"),)
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    pattern: Mapped[str] = mapped_column(String(320))


class DomainMailSettings(Base):
    """IMAP/SMTP settings an admin saved for a domain (P9); first in the detection chain."""

    __tablename__ = "domain_mail_settings"
    __table_args__ = (UniqueConstraint("account_id", "domain"),)
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    domain: Mapped[str] = mapped_column(String(253))
    imap: Mapped[dict[str, Any]] = mapped_column(default=dict)
    smtp: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboundEmail(Base):
    """A send request. ``(user_id, idempotency_key)`` makes retries of one request one email."""

    __tablename__ = "outbound_emails"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key"),)
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    user_id: Mapped[int] = _fk("users.id")
    inbox_id: Mapped[int | None] = _fk("inboxes.id", nullable=True, ondelete="SET NULL")
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="queued")
    message_id: Mapped[str] = mapped_column(String(998))
    from_addr: Mapped[str] = mapped_column(String(320))
    to_addrs: Mapped[list[Any]] = mapped_column(default=list)
    cc_addrs: Mapped[list[Any]] = mapped_column(default=list)
    bcc_addrs: Mapped[list[Any]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    in_reply_to: Mapped[str] = mapped_column(String(998), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(60))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    user_id: Mapped[int] = _fk("users.id")
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    inbox_id: Mapped[int | None] = _fk("inboxes.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    #: Set once the notification was sent by email (or needs none): see notifications/email.py.
    emailed_at: Mapped[datetime | None]


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    actor_user_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    action: Mapped[str] = mapped_column(String(60))
    inbox_id: Mapped[int | None] = _fk("inboxes.id", nullable=True, ondelete="SET NULL")
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
