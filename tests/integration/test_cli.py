"""The CLI on a fresh data directory: create-user, create-token, then the token works."""

from pathlib import Path

import httpx

from inboxlink.config import Settings
from inboxlink.runtime import Runtime
from inboxlink.web.app import create_app
from tests.support.api_helpers import cli_admin_token, run_cli


async def test_create_user_and_token_then_me_answers(tmp_path: Path) -> None:
    assert "inboxlink" in run_cli(tmp_path, "--version")
    token = cli_admin_token(tmp_path)
    assert token.startswith("ilk_")
    key_file = tmp_path / "secret.key"
    assert key_file.stat().st_mode & 0o777 == 0o600

    runtime = Runtime.build(Settings(data_dir=tmp_path))
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["role"] == "super-admin"
        assert (await client.get("/api/v1/me")).status_code == 401
    await runtime.close()
