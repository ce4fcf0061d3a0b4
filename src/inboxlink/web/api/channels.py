"""Team channels (T1-T3, D2, D3): connect, list, restrict, delete — admins only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from inboxlink.conversations.channels import (
    channel_dict,
    delete_channel,
    require_admin,
    set_members,
    visible_channels,
)
from inboxlink.conversations.connect import start_team_connect
from inboxlink.conversations.model import Destination
from inboxlink.web.deps import ApiCaller, Db, RuntimeDep

router = APIRouter(prefix="/channels", tags=["channels"])


class ChannelIn(BaseModel):
    email: str = Field(max_length=320)
    destination: Destination = Destination.CONVERSATIONS
    provider: str | None = Field(
        default=None,
        max_length=20,
        description="gmail or microsoft; omitted: recommended from the address. Anything "
        "else is refused (T2: team inboxes are hosted on Gmail or Office 365).",
    )


class MembersIn(BaseModel):
    user_ids: list[int] = Field(default_factory=list, max_length=1000)


@router.get("")
async def list_channels(caller: ApiCaller, db: Db) -> dict[str, Any]:
    require_admin(caller.actor)
    return {"items": [channel_dict(v) for v in await visible_channels(db, caller.actor)]}


@router.post("")
async def create_channel(body: ChannelIn, caller: ApiCaller, runtime: RuntimeDep) -> dict[str, str]:
    """Start connecting a team address: open ``authorization_url`` in a browser and sign in
    to the shared mailbox; the provider's callback saves the channel."""
    url = await start_team_connect(
        runtime, caller.actor, body.email, body.destination, body.provider, via_api=True
    )
    return {"authorization_url": url}


@router.put("/{inbox_id}/members")
async def restrict_channel(
    inbox_id: int, body: MembersIn, caller: ApiCaller, db: Db
) -> dict[str, Any]:
    """Only these users (and admins) see the channel's threads; an empty list: everyone."""
    return channel_dict(await set_members(db, caller.actor, inbox_id, body.user_ids))


@router.delete("/{inbox_id}")
async def remove_channel(
    inbox_id: int, caller: ApiCaller, db: Db, runtime: RuntimeDep
) -> dict[str, Any]:
    """D2: disconnect and remove the team inbox; D3: notify admins and who connected it."""
    steps = await delete_channel(db, runtime, caller.actor, inbox_id)
    await db.commit()
    await runtime.scheduler.inbox_changed(inbox_id)
    return {"deleted": True, "provider_steps": steps}
