"""Who am I."""

from typing import Any

from fastapi import APIRouter

from inboxlink.web.deps import ApiCaller

router = APIRouter(tags=["account"])


@router.get("/me")
async def me(caller: ApiCaller) -> dict[str, Any]:
    user = caller.user
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "account_id": user.account_id,
    }
