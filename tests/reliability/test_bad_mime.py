"""Bad MIME through the real IMAP path: CPython's ``test_email`` corpus and generated nasties
(50 MB, 1,000 nested multiparts, 10,000 headers, bad charsets and encodings, NULs, broken
base64/QP, missing and duplicate Message-IDs, 8-bit headers) in a Dovecot mailbox, synced by
the product's sync engine into a personal inbox (logged for the contact) and a team inbox
(everything stored). The sync never stops on a message; what cannot be parsed is kept raw,
flagged on the timeline and counted on the inbox."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from inboxlink.connectors import connector_for, folders_of
from inboxlink.mail.body import UNREADABLE, parse_body
from inboxlink.mail.headers import parse_headers
from inboxlink.runtime import Runtime
from inboxlink.store.tables import Inbox, Message, MessageSource, TimelineEntry
from inboxlink.sync.engine import InboxSync
from tests.reliability.figures import Figures
from tests.reliability.helpers import connect_body, connect_inbox, sync_state
from tests.support.accounts import Team
from tests.support.api_helpers import add_contact
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import new_user
from tests.support.mime_corpus import Sample, cpython_corpus_dir, cpython_samples, nasty_samples
from tests.support.postfix import Postfix


def _expected(samples: list[Sample]) -> tuple[int, set[str], int]:
    """Distinct messages (one per Message-ID, each one without), their ids, unreadable ones."""
    ids = {parse_headers(s.raw).message_id for s in samples} - {""}
    without = sum(1 for s in samples if not parse_headers(s.raw).message_id)
    unreadable = sum(1 for s in samples if not parse_body(s.raw).readable)
    return len(ids) + without, ids, unreadable


async def _sync(runtime: Runtime, inbox_id: int) -> None:
    """One full pass of the product's sync engine over the inbox; raises if a batch fails."""
    async with runtime.sessions() as session:
        inbox = await session.get(Inbox, inbox_id)
        assert inbox is not None
    connector = connector_for(runtime, inbox)
    try:
        await InboxSync(runtime.sessions, inbox_id, connector).sync(folders_of(inbox))
    finally:
        await connector.close()


async def _stored(runtime: Runtime, inbox_id: int, contact_id: int | None) -> list[Any]:
    """Rows (message id, Message-ID, unreadable, raw) logged for the contact, or every
    message the inbox stored when ``contact_id`` is None."""
    columns = (Message.id, Message.message_id, Message.unreadable, Message.raw)
    if contact_id is None:
        query = select(*columns).join(MessageSource).where(MessageSource.inbox_id == inbox_id)
    else:
        query = select(*columns).join(TimelineEntry).where(TimelineEntry.contact_id == contact_id)
    async with runtime.sessions() as session:
        return list(await session.execute(query))


@pytest.mark.skipif(cpython_corpus_dir() is None, reason="this Python ships no test_email data")
@pytest.mark.parametrize("kind", ["personal", "team"])
async def test_every_message_is_stored_and_the_unparseable_kept_raw(
    api: httpx.AsyncClient,
    runtime: Runtime,
    team: Team,
    dovecot: Dovecot,
    postfix: Postfix,
    kind: str,
) -> None:
    me, ann = new_user(dovecot), new_user(dovecot)
    # The team inbox stores mail from anyone: it gets CPython's messages untouched.
    samples = cpython_samples(ann.email if kind == "personal" else None)
    samples += nasty_samples(ann.email)
    dovecot.write_messages(me.email, (s.raw for s in samples))
    expected, ids, unreadable = _expected(samples)
    ann_id = await add_contact(api, team.admin, ann.email)
    person = team.member if kind == "personal" else team.admin
    inbox_id = await connect_inbox(
        api, person, connect_body(me, dovecot.imap_port, postfix.smtp_port)
    )
    if kind == "team":
        async with runtime.sessions() as session, session.begin():
            inbox = await session.get(Inbox, inbox_id)
            assert inbox is not None
            inbox.kind, inbox.owner_id = "team", None

    await _sync(runtime, inbox_id)
    await _sync(runtime, inbox_id)  # a second pass adds nothing and counts nothing again

    rows = await _stored(runtime, inbox_id, ann_id if kind == "personal" else None)
    distinct = {row.id: row for row in rows}
    flagged = [row for row in distinct.values() if row.unreadable]
    state = await sync_state(api, person, inbox_id)
    # A timeline entry per message; a source per mailbox message (duplicates share a row).
    places = len(samples) if kind == "team" else len(distinct)
    figures = Figures(
        scenario=f"bad MIME ({kind} inbox)",
        expected=expected,
        logged=len(distinct),
        lost=expected - len(distinct),
        twice=len(rows) - places,
        detail=f"messages={len(samples)} unreadable={state['messages_unreadable']}",
    )
    print(figures.line())
    assert figures.clean, figures.line()
    assert ids <= {row.message_id for row in rows}
    assert state["backfill_complete"] and state["last_error"] is None, state
    assert state["messages_scanned"] == len(samples)  # the second pass found nothing new

    # The message the parser cannot walk: kept as received, flagged, counted once.
    assert unreadable >= 1 and len(flagged) == unreadable == state["messages_unreadable"]
    assert all(row.raw and b"deep down" in row.raw for row in flagged)
    assert all(row.raw is None for row in distinct.values() if not row.unreadable)
    if kind == "personal":
        listed = await api.get(
            f"/api/v1/contacts/{ann_id}/timeline",
            params={"limit": 1000},
            headers=team.member.headers,
        )
        items = {i["message_id"]: i for i in listed.json()["items"]}
        deep = items["<nested@nasty.example>"]
        assert deep["unreadable"] is True and deep["snippet"] == UNREADABLE
        assert not items["<nul@nasty.example>"]["unreadable"]
