"""Profile the backfill of one inbox in-process with pyinstrument (``pip install pyinstrument``).

Connects the workload's mailbox through a real inboxlink process (so credentials and settings
are stored as in production), stops it, clears what it synced meanwhile, then runs the sync
engine on the event loop under the profiler. Run:
``.venv/bin/python -m bench.profile_sync --messages 5000 [--all-contacts]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from pyinstrument import Profiler
from sqlalchemy import delete, update

from bench.lab import Lab
from bench.mailbox import write_mailbox
from inboxlink.config import Settings
from inboxlink.connectors import connector_for, folders_of
from inboxlink.runtime import Runtime
from inboxlink.store.tables import (
    Inbox,
    Message,
    MessageSource,
    SyncFolder,
    Thread,
    TimelineEntry,
)
from inboxlink.sync.engine import InboxSync


async def _profiled_sync(settings: Settings, inbox_id: int) -> tuple[float, Profiler]:
    runtime = Runtime.build(settings)
    async with runtime.sessions() as session, session.begin():
        for table in (TimelineEntry, MessageSource, Message, Thread, SyncFolder):
            await session.execute(delete(table))
        await session.execute(
            update(Inbox).values(backfill_complete=False, messages_scanned=0, messages_logged=0)
        )
    async with runtime.sessions() as session:
        inbox = await session.get(Inbox, inbox_id)
    assert inbox is not None
    connector = connector_for(runtime, inbox)
    profiler = Profiler(async_mode="enabled")
    started = time.perf_counter()
    with profiler:
        await InboxSync(runtime.sessions, inbox_id, connector).sync(folders_of(inbox))
    elapsed = time.perf_counter() - started
    await connector.close()
    await runtime.close()
    return elapsed, profiler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--all-contacts", action="store_true")
    parser.add_argument("--html", help="also write the profile as HTML to this file")
    args = parser.parse_args()
    with Lab() as lab:
        owner = lab.user("owner")
        workload = write_mailbox(lab.dovecot, owner, args.messages)
        crm = lab.crm()
        people = workload.correspondents if args.all_contacts else workload.contacts
        crm.add_contacts(p.email for p in people)
        inbox_id = crm.connect_inbox(lab, owner)
        crm.stop()
        data_dir = crm.server.data_dir
        os.environ.update(
            INBOXLINK_ALLOW_PRIVATE_NETWORKS="1", INBOXLINK_EXTRA_CA_FILE=str(lab.ca_file),
            INBOXLINK_DNS_NAMESERVERS=lab.dns.nameserver, INBOXLINK_DATA_DIR=str(data_dir),
        )  # fmt: skip
        elapsed, profiler = asyncio.run(_profiled_sync(Settings(), inbox_id))
        print(f"sync of {workload.count:,} messages: {elapsed:.2f} s")
        print(profiler.output_text(unicode=True, color=False, show_all=False))
        if args.html:
            with open(args.html, "w") as out:
                out.write(profiler.output_html())


if __name__ == "__main__":
    main()
