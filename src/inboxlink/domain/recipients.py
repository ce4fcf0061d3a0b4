"""Who is told when a team address is disconnected (SPEC D3): every super admin, every user
with account access, and the user who connected it — each of them once."""

from __future__ import annotations

from collections.abc import Iterable

from inboxlink.domain.enums import Role


def team_disconnect_recipients(
    users: Iterable[tuple[int, Role]], connected_by: int | None
) -> set[int]:
    chosen = {uid for uid, role in users if role in (Role.SUPER_ADMIN, Role.ACCOUNT_ACCESS)}
    if connected_by is not None:
        chosen.add(connected_by)
    return chosen
