"""Starting to connect a team address (T2, T3): only Gmail- or Office 365-hosted ones.

An address the recommendation recognises as IMAP-only, Exchange or unsupported is refused
with the T2 message whatever provider is picked; one it cannot place may be connected with
Gmail or Microsoft, and picking *Other* is refused too.
"""

from __future__ import annotations

from inboxlink.conversations.channels import require_admin
from inboxlink.conversations.model import TEAM_PROVIDERS, Destination, TeamProviderRefused
from inboxlink.discovery.recommend import Recommendation, recommend
from inboxlink.domain.enums import InboxKind, Provider
from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError
from inboxlink.runtime import Runtime
from inboxlink.services import oauth_connect
from inboxlink.services.connect import check_address_free
from inboxlink.services.users import check_email


def team_provider(email: str, recommendation: Recommendation, chosen: str | None) -> Provider:
    """The provider to connect ``email`` with as a team inbox, or the T2 refusal."""
    recognised = recommendation.provider
    if recognised not in ("unknown", *TEAM_PROVIDERS):
        raise TeamProviderRefused(email)
    pick = chosen or (recognised if recognised in TEAM_PROVIDERS else None)
    if pick is None:
        raise AppError(
            "provider_required",
            f"We could not tell who hosts {email}. Choose Gmail or Microsoft Outlook "
            "(team inboxes must be hosted on Gmail or Office 365).",
            status=422,
        )
    if pick not in TEAM_PROVIDERS:
        raise TeamProviderRefused(email)
    return Provider(pick)


async def start_team_connect(
    runtime: Runtime,
    actor: Actor,
    email: str,
    destination: Destination,
    chosen: str | None,
    *,
    via_api: bool,
) -> str:
    """Check the address and the provider, then answer the provider's consent URL."""
    require_admin(actor)
    email = check_email(email)
    provider = team_provider(email, await recommend(email, runtime.resolver), chosen)
    await check_address_free(runtime, actor, email, InboxKind.TEAM)
    return await oauth_connect.start(
        runtime,
        actor,
        provider,
        email_hint=email,
        via_api=via_api,
        kind=InboxKind.TEAM,
        destination=destination.value,
    )
