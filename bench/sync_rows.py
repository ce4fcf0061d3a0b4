"""Connect-to-synced and full ingest, each against mbsync and a raw pipelined fetch of the
same folder, all in one run on one mailbox."""

from __future__ import annotations

import time

from bench.lab import Lab
from bench.mailbox import Workload
from bench.references import mbsync_pull, raw_fetch
from bench.report import Row, seconds


def references(lab: Lab, workload: Workload) -> dict[str, float]:
    """mbsync and raw fetches of the workload's folder (after a warm-up that lets Dovecot
    build its index, so no contestant pays for it)."""
    raw_fetch(lab, workload.owner, "header", 500)
    return {
        "mbsync": mbsync_pull(lab, workload.owner),
        "headers": raw_fetch(lab, workload.owner, "header", 500),
        "bodies": raw_fetch(lab, workload.owner, "body", 100),
    }


def _connect_and_sync(lab: Lab, workload: Workload, every_correspondent: bool, timeout: float
                      ) -> tuple[float, dict[str, int]]:  # fmt: skip
    crm = lab.crm()
    try:
        people = workload.correspondents if every_correspondent else workload.contacts
        crm.add_contacts(p.email for p in people)
        started = time.perf_counter()
        inbox_id = crm.connect_inbox(lab, workload.owner)
        # Every 50 ms (±25 ms on seconds): at 10 ms the polls took CPU from the sync itself.
        crm.wait_synced(inbox_id, timeout, interval=0.05)
        elapsed = time.perf_counter() - started
        state = crm.sync_state(inbox_id)
        return elapsed, {"scanned": state["messages_scanned"], "logged": state["messages_logged"]}
    finally:
        crm.stop()


def connect_to_synced(lab: Lab, workload: Workload, refs: dict[str, float], timeout: float) -> Row:
    elapsed, counts = _connect_and_sync(lab, workload, False, timeout)
    vs_mbsync, vs_raw = elapsed / refs["mbsync"], elapsed / refs["headers"]
    return Row(
        f"connect-to-synced, personal inbox, {workload.count:,} msgs "
        f"({counts['logged']:,} contact msgs logged)",
        seconds(elapsed),
        f"mbsync {seconds(refs['mbsync'])}; raw header fetch {seconds(refs['headers'])}",
        f"{vs_mbsync:.2f}x mbsync; {vs_raw:.1f}x raw",
        "≤ 0.2x mbsync, ≤ 4x raw",
        vs_mbsync <= 0.2 and vs_raw <= 4,
        note=f"scanned {counts['scanned']:,}, expected {workload.contact_messages:,} logged",
    )


def full_ingest(lab: Lab, workload: Workload, refs: dict[str, float], timeout: float) -> Row:
    elapsed, counts = _connect_and_sync(lab, workload, True, timeout)
    rate = counts["logged"] / elapsed
    vs_mbsync = elapsed / refs["mbsync"]
    vs_raw = elapsed / refs["bodies"]
    return Row(
        f"full ingest, every correspondent a contact, {workload.count:,} msgs",
        f"{seconds(elapsed)} = {rate:,.0f} msg/s ({counts['logged']:,} stored)",
        f"mbsync {seconds(refs['mbsync'])}; raw BODY.PEEK[] fetch {seconds(refs['bodies'])}",
        f"{vs_mbsync:.2f}x mbsync; {vs_raw:.1f}x raw",
        "≤ 0.7x mbsync, ≥ 3,000 msg/s",
        vs_mbsync <= 0.7 and rate >= 3000,
    )
