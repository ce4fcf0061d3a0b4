from inboxlink.domain.enums import Direction, LoggingPolicy
from inboxlink.domain.logging_rules import contacts_to_log, direction_of, is_never_logged

CONTACTS = {"ann@client.com", "bob@vendor.org"}


def test_contacts_among_participants_are_logged() -> None:
    chosen = contacts_to_log(
        {"me@acme.com", "ann@client.com", "stranger@x.com"},
        CONTACTS,
        set(),
        policy=LoggingPolicy.ALL_CONTACT_MAIL,
        answers_known_thread=False,
    )
    assert chosen == {"ann@client.com"}


def test_mail_without_contacts_is_not_logged() -> None:
    chosen = contacts_to_log(
        {"me@acme.com", "stranger@x.com"},
        CONTACTS,
        set(),
        policy=LoggingPolicy.ALL_CONTACT_MAIL,
        answers_known_thread=False,
    )
    assert chosen == set()


def test_never_log_by_address_and_by_domain() -> None:
    assert is_never_logged("ann@client.com", {"ann@client.com"})
    assert is_never_logged("ann@client.com", {"client.com"})
    assert is_never_logged("ann@client.com", {"@client.com"})
    assert not is_never_logged("ann@client.com", {"other.com"})
    chosen = contacts_to_log(
        {"ann@client.com", "bob@vendor.org"},
        CONTACTS,
        {"vendor.org"},
        policy=LoggingPolicy.ALL_CONTACT_MAIL,
        answers_known_thread=False,
    )
    assert chosen == {"ann@client.com"}


def test_replies_only_policy_needs_a_known_thread() -> None:
    args = ({"ann@client.com"}, CONTACTS, set())
    assert (
        contacts_to_log(*args, policy=LoggingPolicy.REPLIES_ONLY, answers_known_thread=False)
        == set()
    )
    assert contacts_to_log(*args, policy=LoggingPolicy.REPLIES_ONLY, answers_known_thread=True) == {
        "ann@client.com"
    }


def test_direction_follows_the_sender() -> None:
    own = {"me@acme.com", "sales@acme.com"}
    assert direction_of("sales@acme.com", own) is Direction.OUTGOING
    assert direction_of("ann@client.com", own) is Direction.INCOMING
    assert direction_of(None, own) is Direction.INCOMING
