"""The vocabulary of the product (SPEC §1), as string enums stored verbatim in the database."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SUPER_ADMIN = "super-admin"
    ACCOUNT_ACCESS = "account-access"
    MEMBER = "member"


class InboxKind(StrEnum):
    PERSONAL = "personal"
    TEAM = "team"


class Provider(StrEnum):
    GMAIL = "gmail"
    MICROSOFT = "microsoft"
    EXCHANGE = "exchange"
    IMAP = "imap"


class Direction(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


class Visibility(StrEnum):
    """How much of an owner's logged mail other users of the account may see (issue 3)."""

    METADATA = "metadata"
    SUBJECT = "subject"
    EVERYTHING = "everything"


class LoggingPolicy(StrEnum):
    ALL_CONTACT_MAIL = "all"
    REPLIES_ONLY = "replies"


class OutboundState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
