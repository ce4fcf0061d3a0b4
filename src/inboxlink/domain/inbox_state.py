"""The inbox lifecycle as an explicit state machine.

    connecting ─► connected ⇄ disabled ─► removed
                     │  ▲
                     ▼  │ (reconnect)
               needs_reconnect ─► disabled
    connected ─► disconnected_migrated ─► removed

Only the transitions listed in ``_ALLOWED`` exist; anything else is refused with a message.
"""

from __future__ import annotations

from enum import StrEnum

from inboxlink.errors import Conflict


class InboxState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    NEEDS_RECONNECT = "needs_reconnect"
    DISABLED = "disabled"
    DISCONNECTED_MIGRATED = "disconnected_migrated"
    REMOVED = "removed"


_ALLOWED: dict[InboxState, frozenset[InboxState]] = {
    InboxState.CONNECTING: frozenset({InboxState.CONNECTED, InboxState.REMOVED}),
    InboxState.CONNECTED: frozenset(
        {InboxState.DISABLED, InboxState.NEEDS_RECONNECT, InboxState.DISCONNECTED_MIGRATED}
    ),
    InboxState.NEEDS_RECONNECT: frozenset(
        {InboxState.CONNECTED, InboxState.DISABLED, InboxState.DISCONNECTED_MIGRATED}
    ),
    InboxState.DISABLED: frozenset({InboxState.CONNECTED, InboxState.REMOVED}),
    InboxState.DISCONNECTED_MIGRATED: frozenset({InboxState.REMOVED}),
    InboxState.REMOVED: frozenset(),
}

#: States in which an inbox syncs and sends.
ACTIVE_STATES = frozenset({InboxState.CONNECTED})


def can_transition(current: InboxState, target: InboxState) -> bool:
    return target in _ALLOWED[current]


def check_transition(current: InboxState, target: InboxState) -> None:
    """Raise a 409 with the reason when ``current → target`` is not a move the lifecycle has."""
    if can_transition(current, target):
        return
    if target is InboxState.REMOVED and current is not InboxState.REMOVED:
        raise Conflict("inbox_not_disabled", "Disable the inbox before you remove it.")
    raise Conflict(
        "invalid_inbox_state",
        f"An inbox that is {current.value.replace('_', ' ')} cannot become "
        f"{target.value.replace('_', ' ')}.",
    )
