"""Operations surface: readiness follows the database, metrics speak Prometheus, logs can be
JSON, and the holdings arithmetic behind fair sharing cannot give one slot twice."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest

from inboxlink.config import Settings
from inboxlink.jobs.holdings import Holdings
from inboxlink.jobs.procrastinate_worker import cron_every
from inboxlink.ops import logs
from inboxlink.runtime import Runtime
from inboxlink.web.app import create_app
from tests.support.ports import free_port


async def probe(settings: Settings) -> dict[str, httpx.Response]:
    runtime = Runtime.build(settings)
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answers = {path: await client.get(path) for path in ("/healthz", "/readyz", "/metrics")}
    await runtime.close()
    return answers


async def test_ready_when_the_database_answers(tmp_path: Path) -> None:
    answers = await probe(Settings(data_dir=tmp_path))
    assert answers["/readyz"].json() == {"status": "ready"}
    metrics = answers["/metrics"]
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "inboxlink_inboxes_held 0.0" in metrics.text
    assert "inboxlink_send_latency_seconds_bucket" in metrics.text


async def test_not_ready_while_the_database_is_unreachable(tmp_path: Path) -> None:
    closed = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none"
    answers = await probe(Settings(data_dir=tmp_path, database_url=closed))
    assert answers["/healthz"].status_code == 200  # alive, only not ready
    assert answers["/readyz"].status_code == 503
    assert answers["/readyz"].json()["error"]["code"] == "database_unavailable"
    assert answers["/metrics"].status_code == 200


def test_json_logs_are_one_object_per_line(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure("json")
        logging.getLogger("inboxlink.test").warning("inbox %s delayed", 7)
        record = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    assert record["message"] == "inbox 7 delayed"
    assert record["level"] == "WARNING" and record["logger"] == "inboxlink.test"


def test_holdings_never_give_the_last_slot_twice() -> None:
    holdings = Holdings()
    assert holdings.take_if_room(1, limit=2) and holdings.take_if_room(2, limit=2)
    assert not holdings.take_if_room(3, limit=2)
    assert not holdings.release_if_over(1, limit=2)  # at the share: keep
    assert holdings.release_if_over(1, limit=1)  # over it: exactly one goes
    assert not holdings.release_if_over(2, limit=1)
    assert holdings.inbox_ids == {2}


@pytest.mark.parametrize(
    ("seconds", "cron"),
    [(2, "* * * * * */2"), (30, "* * * * * */30"), (0.2, "* * * * * */1"), (300, "*/5 * * * *")],
)
def test_periodic_intervals_become_cron(seconds: float, cron: str) -> None:
    assert cron_every(seconds) == cron
