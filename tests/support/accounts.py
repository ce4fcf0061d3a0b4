"""Fixtures for people: an account with users of every role, each with an API token."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from inboxlink.domain.enums import Role
from inboxlink.runtime import Runtime
from inboxlink.services import users
from inboxlink.store.tables import Account

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    token: str
    account_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass(frozen=True)
class Team:
    admin: Person
    access: Person
    member: Person
    other_member: Person
    outsider: Person  # a user of another account


async def add_person(runtime: Runtime, email: str, role: Role, account_id: int | None) -> Person:
    async with runtime.sessions() as session:
        if account_id is None:
            user = await users.create_account(
                session, account_name="Acme", email=email, password=PASSWORD
            )
        else:
            user = await users.create_user(
                session, account_id=account_id, email=email, password=PASSWORD, role=role
            )
        token = await users.create_api_token(session, user)
        await session.commit()
        return Person(user.id, user.email, token, user.account_id)


@pytest.fixture
async def team(runtime: Runtime) -> Team:
    admin = await add_person(runtime, "admin@acme.test", Role.SUPER_ADMIN, None)
    access = await add_person(runtime, "access@acme.test", Role.ACCOUNT_ACCESS, admin.account_id)
    member = await add_person(runtime, "member@acme.test", Role.MEMBER, admin.account_id)
    other = await add_person(runtime, "other@acme.test", Role.MEMBER, admin.account_id)
    async with runtime.sessions() as session:
        foreign = Account(name="Globex")
        session.add(foreign)
        await session.commit()
        foreign_id = foreign.id
    outsider = await add_person(runtime, "outsider@globex.test", Role.SUPER_ADMIN, foreign_id)
    return Team(admin, access, member, other, outsider)
