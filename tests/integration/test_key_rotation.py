"""Key rotation through the key file: everything is re-sealed; the file stays 0600."""

import re
import stat
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from inboxlink.config import Settings
from inboxlink.connectors import connector_for, folders_of, vault_context
from inboxlink.runtime import Runtime
from inboxlink.security.vault import Vault, VaultError
from inboxlink.services.key_rotation import SEALED, add_key_to_file, reseal_all
from inboxlink.store import migrate
from inboxlink.store.tables import Account, Inbox, Message
from inboxlink.sync.engine import InboxSync
from tests.support.accounts import Team
from tests.support.api_helpers import add_contact
from tests.support.dovecot import Dovecot
from tests.support.mail_fixtures import MailPki, new_user
from tests.support.mail_samples import sample_message
from tests.support.postfix import Postfix
from tests.support.store import dump_rows


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


@pytest.fixture
def settings(settings: Settings, mail_ca: MailPki) -> Settings:
    """The default deployment: keys in the data directory's key file, not the environment."""
    values = settings.model_dump()
    values.update(
        secret_key=None,
        extra_ca_file=mail_ca.ca_file,
        google_client_id="inboxlink-test",
        google_client_secret="not-used",
    )
    return Settings(**values)


async def test_after_rotation_nothing_needs_the_old_key_and_it_can_be_deleted(
    api: httpx.AsyncClient,
    runtime: Runtime,
    team: Team,
    dovecot: Dovecot,
    postfix: Postfix,
    settings: Settings,
) -> None:
    """Every sealed value of every table (a mailbox password, a pending OAuth verifier) is
    re-sealed; then the old key is deleted from the key file and the inbox still syncs."""
    me, ann = new_user(dovecot), new_user(dovecot)
    dovecot.write_messages(me.email, [sample_message(ann.email, me.email, message_id="<k1@x>")])
    body = {
        "kind": "personal",
        "provider": "imap",
        "email": me.email,
        "password": me.password,
        "imap": {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "starttls"},
        "smtp": {"host": "127.0.0.1", "port": postfix.smtp_port, "security": "starttls"},
    }
    await add_contact(api, team.member, ann.email)
    created = await api.post("/api/v1/inboxes", json=body, headers=team.member.headers)
    assert created.status_code == 201, created.text
    pending = await api.post(
        "/api/v1/inboxes/oauth/start", json={"provider": "gmail"}, headers=team.member.headers
    )
    assert pending.status_code == 200, pending.text
    [old_key] = settings.secret_keys()

    add_key_to_file(settings)
    new_key = settings.secret_keys()[0]
    assert settings.secret_keys() == [new_key, old_key]
    rotated = Runtime.build(settings)
    try:
        assert await reseal_all(rotated) == 2  # the password and the OAuth verifier
        assert await reseal_all(rotated) == 0
        dump = await dump_rows(rotated)
    finally:
        await rotated.close()
    new_id, old_id = (_key_id(k) for k in (new_key, old_key))
    sealed_ids = re.findall(r"v1\.([0-9a-f]{12})\.", dump)
    print(
        f"[figures] key rotation: {len(sealed_ids)} sealed values, "
        f"{sealed_ids.count(old_id)} still under the old key"
    )
    assert len(sealed_ids) == 2 and set(sealed_ids) == {new_id}

    settings.key_file.write_text(new_key + "\n")  # the old key deleted
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    after = Runtime.build(settings)
    try:
        async with after.sessions() as session:
            for table, name, context in SEALED:
                for row in await session.scalars(select(table)):
                    after.vault.open(getattr(row, name), context=context(row))
                    with pytest.raises(VaultError):
                        Vault([old_key]).open(getattr(row, name), context=context(row))
            inbox = await session.get(Inbox, created.json()["id"])
        assert inbox is not None
        connector = connector_for(after, inbox)
        try:
            await InboxSync(after.sessions, inbox.id, connector).sync(folders_of(inbox))
        finally:
            await connector.close()
        async with after.sessions() as session:
            assert await session.scalar(select(Message.message_id)) == "<k1@x>"
    finally:
        await after.close()


def _key_id(material: str) -> str:
    """The id a key writes into what it seals (sealing something shows it)."""
    return Vault([material]).seal({}, context="probe").split(".")[1]
