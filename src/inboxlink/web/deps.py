"""Request dependencies: the runtime, a database session, and who is asking.

API requests authenticate with ``Authorization: Bearer <token>``; pages with the session
cookie. Both resolve to the same ``Actor`` so permission rules live only in domain/.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from inboxlink.domain.permissions import Actor
from inboxlink.errors import AppError
from inboxlink.runtime import Runtime
from inboxlink.services import users
from inboxlink.store.tables import User

SESSION_COOKIE = "inboxlink_session"


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_db(runtime: Annotated[Runtime, Depends(get_runtime)]) -> AsyncIterator[AsyncSession]:
    """One session per request, committed when the handler returns without an error.

    Used with ``scope="function"``: the commit happens before the response is sent, so a
    client that follows a redirect or reads right after a write sees the write.
    """
    async with runtime.sessions() as session:
        yield session
        await session.commit()


Db = Annotated[AsyncSession, Depends(get_db, scope="function")]


class Unauthenticated(AppError):
    status = 401

    def __init__(self) -> None:
        super().__init__(
            "unauthenticated",
            "Sign in first: send 'Authorization: Bearer <token>' (create one with "
            "'inboxlink admin create-token EMAIL').",
        )


@dataclass(frozen=True, slots=True)
class Caller:
    user: User
    actor: Actor


async def api_caller(request: Request, db: Db) -> Caller:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    user = None
    if scheme.lower() == "bearer" and token.strip():
        user = await users.user_for_api_token(db, token.strip())
    if user is None:
        raise Unauthenticated()
    # Commit the token's last-used time now: a write left open for the whole request would
    # hold SQLite's write lock while services write through sessions of their own.
    await db.commit()
    return Caller(user, users.actor_of(user))


async def page_user(request: Request, db: AsyncSession) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    return await users.user_for_session(db, token) if token else None


ApiCaller = Annotated[Caller, Depends(api_caller)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
