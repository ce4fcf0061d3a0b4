"""The background work of inbox automation, as one pass the worker's periodic loop runs."""

from __future__ import annotations

from inboxlink.automation.digest import run_digest
from inboxlink.automation.process import run_automation_pass
from inboxlink.runtime import Runtime


async def run_automation(runtime: Runtime) -> None:
    """New mail of inboxes with automation on, then today's suggested-tasks digests."""
    await run_automation_pass(runtime)
    await run_digest(runtime)
