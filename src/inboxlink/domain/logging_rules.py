"""Which emails of a personal inbox are logged on contact timelines (SPEC P10, issue 3).

A message is logged when From/To/Cc contain a contact of the account whose address and
domain are not on the never-log list; with the "replies only" policy it must also answer
a thread that was sent from or already logged in the CRM. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from inboxlink.domain.enums import Direction, LoggingPolicy


def is_never_logged(address: str, never_log: Collection[str]) -> bool:
    """Entries are full addresses or bare domains (``example.com`` or ``@example.com``)."""
    domain = address.rpartition("@")[2]
    return address in never_log or domain in never_log or f"@{domain}" in never_log


def contacts_to_log(
    participants: Iterable[str],
    contact_emails: Collection[str],
    never_log: Collection[str],
    *,
    policy: LoggingPolicy,
    answers_known_thread: bool,
) -> set[str]:
    """The contact addresses whose timelines get this message (empty: do not store it)."""
    if policy is LoggingPolicy.REPLIES_ONLY and not answers_known_thread:
        return set()
    return {
        address
        for address in participants
        if address in contact_emails and not is_never_logged(address, never_log)
    }


def direction_of(sender: str | None, own_addresses: Collection[str]) -> Direction:
    """Outgoing when the inbox's owner (address or alias) wrote it."""
    return Direction.OUTGOING if sender in own_addresses else Direction.INCOMING
