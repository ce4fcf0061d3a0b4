"""Capture rules on SQLite and PostgreSQL: a value a person entered is never overwritten, not
even one entered between reading the contact and writing the capture; turning automation on
again restarts "new mail" at that moment."""

from __future__ import annotations

from sqlalchemy import select

from inboxlink.automation.capture import Details
from inboxlink.automation.details import fill_empty
from inboxlink.clock import as_utc
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Contact, ContactChange, Inbox, Message
from tests.integration.test_ingest import raw_message, store
from tests.support.accounts import Team
from tests.support.api_helpers import add_inbox

FOUND = Details(first_name="Ann", company="Captured Ltd", phone="+44 20 7946 0958")


async def test_a_person_entered_value_is_never_overwritten(runtime: Runtime, team: Team) -> None:
    inbox_id = await add_inbox(runtime, team.member.id, team.member.account_id, "member@acme.test")
    async with runtime.sessions() as session:
        contact = Contact(account_id=team.member.account_id, email="ann@client.com", name="Ann")
        session.add(contact)
        await session.commit()
    await store(runtime, team, inbox_id, contact.id, raw_message("<c1@client.com>"), "1:1")
    async with runtime.sessions() as capture:
        message_id = await capture.scalar(select(Message.id))
        assert message_id is not None
        stale = await capture.get(Contact, contact.id)  # read while everything is empty
        assert stale is not None and stale.company == ""
        await capture.commit()  # the object keeps what was read (expire_on_commit=False)
        # Meanwhile a person types the company and the first name and saves.
        async with runtime.sessions() as person, person.begin():
            row = await person.get(Contact, contact.id)
            assert row is not None
            row.company, row.first_name = "Person Co", "Annie"
        async with capture.begin():
            await fill_empty(capture, stale, FOUND, message_id=message_id, inbox_id=inbox_id)
    async with runtime.sessions() as session:
        saved = await session.get(Contact, contact.id)
        changes = list(await session.scalars(select(ContactChange)))
    assert saved is not None
    assert (saved.company, saved.first_name) == ("Person Co", "Annie")
    assert saved.phone == "+44 20 7946 0958"
    assert [(c.field, c.value, c.message_id) for c in changes] == [
        ("phone", "+44 20 7946 0958", message_id)
    ]


async def test_turning_automation_on_again_restarts_new_mail(runtime: Runtime, team: Team) -> None:
    inbox_id = await add_inbox(runtime, team.member.id, team.member.account_id, "member@acme.test")
    async with runtime.sessions() as session, session.begin():
        inbox = await session.get(Inbox, inbox_id)
        assert inbox is not None and inbox.automation_since is None
        inbox.inbox_automation = True
        first = inbox.automation_since
        assert first is not None
        inbox.inbox_automation = True  # on stays on: no new start
        assert inbox.automation_since == first
        inbox.inbox_automation = False  # off keeps the record
        assert inbox.automation_since == first
        inbox.inbox_automation = True
        assert inbox.automation_since is not None and as_utc(inbox.automation_since) > first
