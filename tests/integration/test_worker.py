"""The worker watches every active inbox, stops watching disabled ones at once, and keeps
within its --concurrency ceiling."""

import httpx

from inboxlink.runtime import Runtime
from inboxlink.worker.runner import Runner
from tests.support.accounts import Team
from tests.support.api_helpers import add_inbox, eventually


async def test_watchers_follow_the_active_inboxes_within_the_ceiling(
    api: httpx.AsyncClient, runtime: Runtime, team: Team
) -> None:
    first = await add_inbox(runtime, team.member.id, team.member.account_id, "a@acme.example")
    second = await add_inbox(
        runtime, team.other_member.id, team.member.account_id, "b@acme.example"
    )
    runner = Runner(runtime, max_inboxes=1)
    runner.start()
    try:

        async def watched() -> set[int]:
            return set(runner._watchers)

        assert await eventually(watched) == {first}
        await api.post(f"/api/v1/inboxes/{first}/disable", headers=team.member.headers)
        runtime.signals.inboxes_changed.set()

        async def moved_on() -> bool:
            return await watched() == {second}

        assert await eventually(moved_on)
    finally:
        await runner.stop()
