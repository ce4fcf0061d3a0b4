"""The words of team inboxes, stored verbatim, and the T2 refusal."""

from __future__ import annotations

from enum import StrEnum

from inboxlink.errors import AppError


class Destination(StrEnum):
    CONVERSATIONS = "conversations"
    HELPDESK = "helpdesk"


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    #: Hidden, and its messages are tombstoned so a resync does not bring them back.
    DELETED = "deleted"
    SPAM = "spam"


class TicketStatus(StrEnum):
    NEW = "new"
    WAITING_ON_CONTACT = "waiting_on_contact"
    WAITING_ON_US = "waiting_on_us"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


DESTINATION_NAMES = {
    Destination.CONVERSATIONS: "Conversations inbox",
    Destination.HELPDESK: "Help desk",
}
TICKET_NAMES = {
    TicketStatus.NEW: "New",
    TicketStatus.WAITING_ON_CONTACT: "Waiting on contact",
    TicketStatus.WAITING_ON_US: "Waiting on us",
    TicketStatus.CLOSED: "Closed",
}
#: Providers a team inbox may be hosted on (T2).
TEAM_PROVIDERS = ("gmail", "microsoft")


class TeamProviderRefused(AppError):
    """T2: team inboxes must be hosted on Gmail or Office 365."""

    status = 422

    def __init__(self, email: str = "") -> None:
        address = f"{email} " if email else "This address "
        super().__init__(
            "team_inbox_provider_unsupported",
            f"{address}cannot be a team inbox: team inboxes must be hosted on Gmail or "
            "Office 365, and IMAP is not supported for the conversations inbox or the help "
            "desk. Connect a Gmail or Office 365 address instead.",
        )
