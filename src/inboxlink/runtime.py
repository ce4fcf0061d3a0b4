"""The composition root: builds the long-lived objects once and hands them to web, CLI, worker."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from inboxlink.config import Settings
from inboxlink.net.dns import Resolver
from inboxlink.net.policy import NetworkPolicy
from inboxlink.security.vault import Vault
from inboxlink.store.db import create_engine, session_factory


@dataclass
class Signals:
    """In-process nudges from the web layer to the worker (it also polls, for other processes)."""

    inboxes_changed: asyncio.Event = field(default_factory=asyncio.Event)
    outbox_changed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    vault: Vault
    resolver: Resolver
    policy: NetworkPolicy
    #: Key for HMACs that need no storage (CSRF tokens); derived from the newest vault key.
    signing_key: str
    signals: Signals = field(default_factory=Signals)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings)
        resolver = Resolver(settings)
        keys = settings.secret_keys()
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            vault=Vault(keys),
            resolver=resolver,
            policy=NetworkPolicy(settings, resolver),
            signing_key=hashlib.sha256(b"inboxlink-signing:" + keys[0].encode()).hexdigest(),
        )

    async def close(self) -> None:
        await self.engine.dispose()
