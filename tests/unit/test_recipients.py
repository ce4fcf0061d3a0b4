from inboxlink.domain.enums import Role
from inboxlink.domain.recipients import team_disconnect_recipients

USERS = [(1, Role.SUPER_ADMIN), (2, Role.ACCOUNT_ACCESS), (3, Role.MEMBER), (4, Role.MEMBER)]


def test_admins_access_users_and_the_connecting_member_each_once() -> None:
    assert team_disconnect_recipients(USERS, connected_by=3) == {1, 2, 3}


def test_an_admin_who_connected_it_is_told_once() -> None:
    assert team_disconnect_recipients(USERS, connected_by=1) == {1, 2}


def test_unrelated_members_are_never_told() -> None:
    assert 4 not in team_disconnect_recipients(USERS, connected_by=None)
