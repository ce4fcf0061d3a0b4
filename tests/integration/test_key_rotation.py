"""Key rotation through the key file: everything is re-sealed; the file stays 0600."""

from pathlib import Path

import pytest

from inboxlink.config import Settings
from inboxlink.connectors import vault_context
from inboxlink.runtime import Runtime
from inboxlink.security.vault import Vault, VaultError
from inboxlink.services.key_rotation import add_key_to_file, reseal_all
from inboxlink.store import migrate
from inboxlink.store.tables import Account, Inbox


async def test_rotation_reseals_every_credential(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    migrate.upgrade(settings)
    old_keys = settings.secret_keys()
    runtime = Runtime.build(settings)
    async with runtime.sessions() as session:
        account = Account(name="Acme")
        session.add(account)
        await session.flush()
        inbox = Inbox(
            account_id=account.id,
            kind="personal",
            provider="imap",
            email="a@b.example",
            active_email="a@b.example",
            state="connected",
            settings={},
        )
        session.add(inbox)
        await session.flush()
        inbox.credentials = runtime.vault.seal(
            {"password": "s3cret"}, context=vault_context(inbox.id)
        )
        await session.commit()
        inbox_id = inbox.id
    await runtime.close()

    add_key_to_file(Settings(data_dir=tmp_path))
    rotated = Runtime.build(Settings(data_dir=tmp_path))
    assert await reseal_all(rotated) == 1
    assert await reseal_all(rotated) == 0
    async with rotated.sessions() as session:
        sealed = (await session.get(Inbox, inbox_id)).credentials  # type: ignore[union-attr]
    await rotated.close()
    assert sealed is not None and "s3cret" not in sealed
    new_keys = Settings(data_dir=tmp_path).secret_keys()
    assert new_keys[1:] == old_keys and len(new_keys) == 2
    assert Vault(new_keys[:1]).open(sealed, context=vault_context(inbox_id)) == {
        "password": "s3cret"
    }
    with pytest.raises(VaultError):
        Vault(old_keys).open(sealed, context=vault_context(inbox_id))
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
