import itertools

import pytest

from inboxlink.domain.inbox_state import InboxState, can_transition, check_transition
from inboxlink.errors import Conflict

S = InboxState
ALLOWED = {
    (S.CONNECTING, S.CONNECTED),
    (S.CONNECTING, S.REMOVED),
    (S.CONNECTED, S.DISABLED),
    (S.CONNECTED, S.NEEDS_RECONNECT),
    (S.CONNECTED, S.DISCONNECTED_MIGRATED),
    (S.NEEDS_RECONNECT, S.CONNECTED),
    (S.NEEDS_RECONNECT, S.DISABLED),
    (S.NEEDS_RECONNECT, S.DISCONNECTED_MIGRATED),
    (S.DISABLED, S.CONNECTED),
    (S.DISABLED, S.REMOVED),
    (S.DISCONNECTED_MIGRATED, S.REMOVED),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_every_transition_is_allowed_or_refused_as_designed(current: S, target: S) -> None:
    expected = (current, target) in ALLOWED
    assert can_transition(current, target) is expected
    if expected:
        check_transition(current, target)
    else:
        with pytest.raises(Conflict):
            check_transition(current, target)


def test_removing_a_connected_inbox_asks_to_disable_it_first() -> None:
    with pytest.raises(Conflict) as info:
        check_transition(S.CONNECTED, S.REMOVED)
    assert info.value.code == "inbox_not_disabled"
    assert info.value.status == 409


def test_removed_is_final() -> None:
    assert not any(can_transition(S.REMOVED, target) for target in S)
