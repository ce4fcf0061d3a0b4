"""Changing, disabling, enabling and removing an inbox (SPEC D1, D4, G1)."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.connectors import connector_for
from inboxlink.domain.enums import Provider, Visibility
from inboxlink.domain.inbox_state import InboxState
from inboxlink.domain.permissions import Actor, can_manage_inbox
from inboxlink.domain.provider_steps import provider_side_steps
from inboxlink.errors import Forbidden
from inboxlink.providers.errors import ConnectorError
from inboxlink.runtime import Runtime
from inboxlink.services.inboxes import get_inbox, inbox_ref, record, transition
from inboxlink.store.tables import Inbox

log = logging.getLogger(__name__)


async def _managed(session: AsyncSession, actor: Actor, inbox_id: int) -> Inbox:
    inbox = await get_inbox(session, actor, inbox_id)
    if not can_manage_inbox(actor, inbox_ref(inbox)):
        raise Forbidden("Only the inbox's owner (or, for a team inbox, an admin) can change it.")
    return inbox


async def change_options(
    session: AsyncSession,
    actor: Actor,
    inbox_id: int,
    *,
    inbox_automation: bool | None,
    visibility_crm_sent: Visibility | None,
    visibility_other: Visibility | None,
) -> None:
    inbox = await _managed(session, actor, inbox_id)
    if inbox_automation is not None:
        inbox.inbox_automation = inbox_automation
    if visibility_crm_sent is not None:
        inbox.visibility_crm_sent = visibility_crm_sent.value
    if visibility_other is not None:
        inbox.visibility_other = visibility_other.value
    record(session, inbox, actor_id=actor.user_id, action="inbox.options")


async def disable(session: AsyncSession, actor: Actor, inbox_id: int) -> None:
    """D1: nothing is synced or sent through a disabled inbox; it is shown greyed out."""
    inbox = await _managed(session, actor, inbox_id)
    transition(
        session, inbox, InboxState.DISABLED, actor_id=actor.user_id, reason="disabled by user"
    )
    inbox.sync_state = "stopped"


async def enable(session: AsyncSession, actor: Actor, inbox_id: int) -> None:
    inbox = await _managed(session, actor, inbox_id)
    transition(
        session, inbox, InboxState.CONNECTED, actor_id=actor.user_id, reason="enabled by user"
    )
    inbox.sync_state = "pending"


async def remove(session: AsyncSession, runtime: Runtime, actor: Actor, inbox_id: int) -> list[str]:
    """D1/G1: revoke access where the provider allows, forget the credentials, keep the
    already-logged timeline (it is CRM history), and return the provider-side steps (D4)."""
    inbox = await _managed(session, actor, inbox_id)
    if inbox.state == InboxState.DISABLED.value and inbox.credentials:
        connector = connector_for(runtime, inbox)
        try:
            await connector.revoke()
        except ConnectorError as error:  # the provider-side steps still tell the user
            log.warning("inbox %s: revocation failed: %s", inbox.id, error.code)
        finally:
            await connector.close()
    transition(session, inbox, InboxState.REMOVED, actor_id=actor.user_id, reason="removed by user")
    inbox.sync_state = "stopped"
    return provider_side_steps(Provider(inbox.provider))
