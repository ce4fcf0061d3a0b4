import pytest

from inboxlink.domain.enums import InboxKind, Role
from inboxlink.domain.permissions import (
    Actor,
    InboxRef,
    can_manage_account_settings,
    can_manage_inbox,
    can_see_inbox,
)

OWNER = Actor(user_id=1, account_id=10, role=Role.MEMBER)
COLLEAGUE = Actor(user_id=2, account_id=10, role=Role.MEMBER)
ADMIN = Actor(user_id=3, account_id=10, role=Role.SUPER_ADMIN)
ACCESS = Actor(user_id=4, account_id=10, role=Role.ACCOUNT_ACCESS)
STRANGER = Actor(user_id=5, account_id=99, role=Role.SUPER_ADMIN)
PERSONAL = InboxRef(account_id=10, kind=InboxKind.PERSONAL, owner_id=1)
TEAM = InboxRef(account_id=10, kind=InboxKind.TEAM, owner_id=None)


@pytest.mark.parametrize(
    ("actor", "sees", "manages"),
    [
        (OWNER, True, True),
        (COLLEAGUE, False, False),
        (ADMIN, False, False),
        (STRANGER, False, False),
    ],
)
def test_a_personal_inbox_is_its_owners_alone(actor: Actor, sees: bool, manages: bool) -> None:
    assert can_see_inbox(actor, PERSONAL) is sees
    assert can_manage_inbox(actor, PERSONAL) is manages


@pytest.mark.parametrize(
    ("actor", "sees", "manages"),
    [(OWNER, True, False), (ADMIN, True, True), (ACCESS, True, True), (STRANGER, False, False)],
)
def test_team_inboxes_are_seen_by_the_account_and_managed_by_admins(
    actor: Actor, sees: bool, manages: bool
) -> None:
    assert can_see_inbox(actor, TEAM) is sees
    assert can_manage_inbox(actor, TEAM) is manages


def test_only_super_admins_and_account_access_manage_account_settings() -> None:
    assert can_manage_account_settings(ADMIN)
    assert can_manage_account_settings(ACCESS)
    assert not can_manage_account_settings(OWNER)
