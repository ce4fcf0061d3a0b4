"""What a new message does to a conversation and its ticket: pure rules, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from inboxlink.conversations.model import Status, TicketStatus


@dataclass(frozen=True, slots=True)
class State:
    status: Status
    ticket: TicketStatus


def after_message(state: State, *, inbound: bool, first: bool) -> State:
    """The state once a message arrived (``inbound``: from outside) or the team wrote.

    A customer writing reopens a closed (or deleted) conversation and puts its ticket on
    "waiting on us" — except the very first message, which makes a "new" ticket that stays
    new until someone answers. The team writing leaves the ticket "waiting on contact"
    unless it is closed. Spam stays spam.
    """
    if state.status is Status.SPAM:
        return state
    if not inbound:
        if state.ticket is TicketStatus.CLOSED:
            return state
        return State(state.status, TicketStatus.WAITING_ON_CONTACT)
    if first or state.ticket is TicketStatus.NEW:
        ticket = TicketStatus.NEW
    else:
        ticket = TicketStatus.WAITING_ON_US
    return State(Status.OPEN, ticket)
