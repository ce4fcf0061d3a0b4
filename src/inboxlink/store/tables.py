"""The tables. Every schema change comes with a migration in ``migrations/versions``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

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
    # Properties a person enters, or inbox automation fills while they are empty.
    first_name: Mapped[str] = mapped_column(String(100), default="")
    last_name: Mapped[str] = mapped_column(String(100), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    mobile: Mapped[str] = mapped_column(String(40), default="")
    job_title: Mapped[str] = mapped_column(String(200), default="")
    company: Mapped[str] = mapped_column(String(200), default="")
    #: First day back that the contact's latest out-of-office reply stated.
    back_on: Mapped[date | None]
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
    #: Messages of this inbox the parser could not read (kept raw, flagged ``unreadable``).
    messages_unreadable: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_sync_at: Mapped[datetime | None]
    last_error_code: Mapped[str | None] = mapped_column(String(60))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    #: When the current run of transient failures began (None while healthy).
    delayed_since: Mapped[datetime | None]
    #: Last time the domain's MX records were checked for a provider move (G2).
    migration_checked_at: Mapped[datetime | None]
    #: When inbox automation was last turned on: mail dated earlier is history, left alone.
    automation_since: Mapped[datetime | None]

    @validates("inbox_automation")
    def _turning_on(self, _key: str, value: bool) -> bool:
        """Every switch from off to on restarts "new mail" at this moment (issue 8)."""
        if value and not self.inbox_automation:
            self.automation_since = utcnow()
        return value


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
    #: The parser could not read it: ``raw`` keeps the message as received (else NULL).
    unreadable: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)


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


class Sequence(Base):
    """A series of follow-up emails (P10); steps in ``sequence_steps``, sends in the outbox."""

    __tablename__ = "sequences"
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    owner_id: Mapped[int] = _fk("users.id")
    name: Mapped[str] = mapped_column(String(200))
    #: IANA zone of the sender: send windows and business days are read in it.
    time_zone: Mapped[str] = mapped_column(String(60), default="UTC")
    track: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Stop on any message from the contact, not only on one in the sequence's thread.
    stop_on_any_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    #: How long an out-of-office reply pauses the enrollment when it names no return date.
    auto_reply_pause_seconds: Mapped[int] = mapped_column(Integer, default=3 * 86400)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SequenceStep(Base):
    __tablename__ = "sequence_steps"
    __table_args__ = (UniqueConstraint("sequence_id", "position"),)
    id: Mapped[int] = _id()
    sequence_id: Mapped[int] = _fk("sequences.id")
    position: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    #: Wait after the previous step was sent (after enrolling, for the first step).
    delay_seconds: Mapped[int] = mapped_column(Integer, default=0)
    business_days_only: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Send window as minutes after midnight in the sequence's zone; NULL: any time.
    window_start: Mapped[int | None] = mapped_column(Integer)
    window_end: Mapped[int | None] = mapped_column(Integer)
    #: Start a new thread instead of replying to the previous step.
    new_thread: Mapped[bool] = mapped_column(Boolean, default=False)


class Enrollment(Base):
    """A contact going through a sequence from one of the enrolling user's inboxes."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("sequence_id", "contact_id"),
        Index("ix_enrollments_state_due", "state", "next_due_at"),
    )
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    sequence_id: Mapped[int] = _fk("sequences.id")
    contact_id: Mapped[int] = _fk("contacts.id")
    user_id: Mapped[int] = _fk("users.id")
    inbox_id: Mapped[int | None] = _fk("inboxes.id", nullable=True, ondelete="SET NULL")
    sender: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(20), default="active")
    reason: Mapped[str] = mapped_column(String(40), default="")
    #: Position of the next step to send (== number of steps sent).
    next_step: Mapped[int] = mapped_column(Integer, default=0)
    next_due_at: Mapped[datetime | None]
    paused_until: Mapped[datetime | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxSendLimit(Base):
    """An admin's daily sending limit for an inbox (sequence sends); absent: the default."""

    __tablename__ = "inbox_send_limits"
    inbox_id: Mapped[int] = mapped_column(
        Id, ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    daily_limit: Mapped[int] = mapped_column(Integer)


class SignalWatch(Base):
    """The sequence engine's own checkpoint in an inbox's incoming folder (replies, bounces)."""

    __tablename__ = "signal_watches"
    inbox_id: Mapped[int] = mapped_column(
        Id, ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    folder: Mapped[str] = mapped_column(String(500))
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class MailSignal(Base):
    """An incoming message that matters to sequences: a reply, an auto-reply or a bounce."""

    __tablename__ = "mail_signals"
    __table_args__ = (UniqueConstraint("inbox_id", "message_key"),)
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    inbox_id: Mapped[int] = _fk("inboxes.id")
    #: Message-ID, or a hash of the message when it has none.
    message_key: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    #: The contact who wrote (reply, auto-reply) or the address that failed (bounce).
    address: Mapped[str] = mapped_column(String(320))
    #: Message-IDs the message answers (In-Reply-To and References).
    answers: Mapped[list[Any]] = mapped_column(default=list)
    return_on: Mapped[datetime | None]
    received_at: Mapped[datetime]
    applied: Mapped[bool] = mapped_column(Boolean, default=False)


class BouncingAddress(Base):
    __tablename__ = "bouncing_addresses"
    __table_args__ = (UniqueConstraint("account_id", "email"),)
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    email: Mapped[str] = mapped_column(String(320))
    since: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[str] = mapped_column(Text, default="")


class TrackedEmail(Base):
    """An outbound email sent with an open pixel and rewritten links."""

    __tablename__ = "tracked_emails"
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    user_id: Mapped[int] = _fk("users.id")
    outbound_email_id: Mapped[int] = mapped_column(
        Id, ForeignKey("outbound_emails.id", ondelete="CASCADE"), unique=True
    )
    #: The first To address: whose timeline the opens and clicks belong on.
    recipient: Mapped[str] = mapped_column(String(320), index=True)


class TrackingEvent(Base):
    __tablename__ = "tracking_events"
    __table_args__ = (Index("ix_tracking_events_email_at", "tracked_email_id", "at"),)
    id: Mapped[int] = _id()
    tracked_email_id: Mapped[int] = _fk("tracked_emails.id")
    kind: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(Text, default="")
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    #: From a mail-privacy proxy or right after sending: probably not the person.
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Channel(Base):
    """A team inbox attached to the conversations inbox or the help desk (T1).

    ``seen_source_id`` is the highest ``message_sources.id`` of this inbox already turned into
    conversation state: sources only grow, so new sightings are exactly those above it.
    """

    __tablename__ = "channels"
    inbox_id: Mapped[int] = mapped_column(
        Id, ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    destination: Mapped[str] = mapped_column(String(20))
    #: Match or create the sender of each message as a contact.
    create_contacts: Mapped[bool] = mapped_column(Boolean, default=True)
    seen_source_id: Mapped[int] = mapped_column(Id, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChannelMember(Base):
    """When a channel has members, only they (and admins) see its threads; none: everyone."""

    __tablename__ = "channel_members"
    __table_args__ = (UniqueConstraint("inbox_id", "user_id"),)
    id: Mapped[int] = _id()
    inbox_id: Mapped[int] = _fk("channels.inbox_id")
    user_id: Mapped[int] = _fk("users.id")


class ChannelRequest(Base):
    """The destination an admin chose, kept until the provider's consent comes back."""

    __tablename__ = "channel_requests"
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    destination: Mapped[str] = mapped_column(String(20))
    expires_at: Mapped[datetime]


class Conversation(Base):
    """A thread as seen through one team inbox, with the team's state for it."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("inbox_id", "thread_id"),
        Index("ix_conversations_account_status", "account_id", "status", "last_message_at"),
    )
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    inbox_id: Mapped[int] = _fk("inboxes.id")
    thread_id: Mapped[int] = _fk("threads.id")
    #: open | closed | deleted | spam
    status: Mapped[str] = mapped_column(String(20), default="open")
    assignee_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    #: Help desk: new | waiting_on_contact | waiting_on_us | closed
    ticket_status: Mapped[str] = mapped_column(String(30), default="new")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    #: Highest ``messages.id`` applied: a sighting of an older message is not news.
    seen_message_id: Mapped[int] = mapped_column(Id, default=0)
    last_message_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    #: Any change a viewer should see (message, state, comment): what open pages poll for.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationComment(Base):
    """An internal note: seen by the team in the thread view, never sent."""

    __tablename__ = "conversation_comments"
    id: Mapped[int] = _id()
    conversation_id: Mapped[int] = _fk("conversations.id")
    author_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageTombstone(Base):
    """A message deleted or marked as spam in a team inbox: never imported into it again."""

    __tablename__ = "message_tombstones"
    __table_args__ = (UniqueConstraint("inbox_id", "message_key"),)
    id: Mapped[int] = _id()
    inbox_id: Mapped[int] = _fk("inboxes.id")
    #: The message's dedupe key: its Message-ID, else the content hash.
    message_key: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AutomationCursor(Base):
    """Highest ``message_sources.id`` of an inbox that inbox automation has looked at.

    A row of its own, not a column of ``inboxes``: the automation pass locks it, and the
    sync engine, which locks the inbox row for every batch, never waits for that pass."""

    __tablename__ = "automation_cursors"
    inbox_id: Mapped[int] = mapped_column(
        Id, ForeignKey("inboxes.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[int] = mapped_column(Id, default=0)


class ContactChange(Base):
    """A contact property that inbox automation filled, with the message it came from."""

    __tablename__ = "contact_changes"
    __table_args__ = (Index("ix_contact_changes_contact_at", "contact_id", "created_at"),)
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    contact_id: Mapped[int] = _fk("contacts.id")
    field: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[int | None] = _fk("messages.id", nullable=True, ondelete="SET NULL")
    inbox_id: Mapped[int | None] = _fk("inboxes.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]
    undone_by_id: Mapped[int | None] = _fk("users.id", nullable=True, ondelete="SET NULL")


class Task(Base):
    """A to-do of a user: suggested by inbox automation from a message, or accepted/dismissed."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("user_id", "message_id"),
        Index("ix_tasks_user_state", "user_id", "state"),
    )
    id: Mapped[int] = _id()
    account_id: Mapped[int] = _fk("accounts.id")
    user_id: Mapped[int] = _fk("users.id")
    contact_id: Mapped[int | None] = _fk("contacts.id", nullable=True, ondelete="SET NULL")
    message_id: Mapped[int | None] = _fk("messages.id", nullable=True, ondelete="SET NULL")
    #: request (the contact asks) or promise (someone says they will).
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300))
    due_on: Mapped[date | None]
    #: suggested | open | dismissed | done
    state: Mapped[str] = mapped_column(String(12), default="suggested")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]


class TaskDigest(Base):
    """One suggested-tasks digest per user per (UTC) day: what makes the daily job idempotent."""

    __tablename__ = "task_digests"
    user_id: Mapped[int] = mapped_column(
        Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
