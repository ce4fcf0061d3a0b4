"""Vault key rotation: a new key seals from now on and every stored secret is re-sealed with it.

With the key file (the default), the new key is put first in it and the old ones stay below,
still able to open anything not yet re-sealed; once ``reseal_all`` has run, nothing needs
them and they can be deleted from the file. With ``INBOXLINK_SECRET_KEY`` the admin adds
the new key in front of the list themselves and then runs the re-seal.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from inboxlink.config import Settings
from inboxlink.connectors import vault_context
from inboxlink.runtime import Runtime
from inboxlink.services.oauth_connect import verifier_context
from inboxlink.store.tables import Inbox, OAuthState

#: Every sealed column: (table, attribute, the context its values are bound to).
SEALED: tuple[tuple[type[Any], str, Callable[[Any], str]], ...] = (
    (Inbox, "credentials", lambda inbox: vault_context(inbox.id)),
    (OAuthState, "code_verifier", lambda state: verifier_context(state.state_hash)),
)


def add_key_to_file(settings: Settings) -> None:
    """Prepend a fresh key to the key file, keeping the file's 0600 mode."""
    keys = settings.secret_keys()
    path = settings.key_file
    temporary = path.with_suffix(".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join([secrets.token_urlsafe(32), *keys]) + "\n")
    os.replace(temporary, path)


async def reseal_all(runtime: Runtime) -> int:
    """Re-seal every secret made with an older key; returns how many were re-sealed."""
    count = 0
    async with runtime.sessions() as session, session.begin():
        for table, name, context in SEALED:
            column = getattr(table, name)
            for row in await session.scalars(select(table).where(column.is_not(None))):
                sealed = getattr(row, name)
                if runtime.vault.needs_reseal(sealed):
                    setattr(row, name, runtime.vault.reseal(sealed, context=context(row)))
                    count += 1
    return count
