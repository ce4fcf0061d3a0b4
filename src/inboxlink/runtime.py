"""The composition root: builds the long-lived objects once and hands them to web, CLI, worker."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from inboxlink.config import Settings
from inboxlink.jobs.scheduler import InProcessScheduler, Scheduler, Signals
from inboxlink.net.dns import Resolver
from inboxlink.net.policy import NetworkPolicy
from inboxlink.security.vault import Vault
from inboxlink.store.db import create_engine, session_factory
from inboxlink.sync.confirmations import Confirmations


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
    #: How web requests and jobs hand work to the engine (``INBOXLINK_JOB_ENGINE``).
    scheduler: Scheduler
    #: Watchers' "up to date, nothing new" confirmations, written for all inboxes at once.
    confirmations: Confirmations
    #: The in-process runner's wake-ups; set through ``scheduler`` in the embedded mode.
    signals: Signals = field(default_factory=Signals)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = create_engine(settings)
        resolver = Resolver(settings)
        keys = settings.secret_keys()
        signals = Signals()
        sessions = session_factory(engine)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            vault=Vault(keys),
            resolver=resolver,
            policy=NetworkPolicy(settings, resolver),
            signing_key=hashlib.sha256(b"inboxlink-signing:" + keys[0].encode()).hexdigest(),
            scheduler=_scheduler(settings, signals),
            confirmations=Confirmations(sessions),
            signals=signals,
        )

    async def close(self) -> None:
        await self.confirmations.write()
        await self.scheduler.close()
        await self.engine.dispose()


def _scheduler(settings: Settings, signals: Signals) -> Scheduler:
    if settings.job_engine == "procrastinate":
        from inboxlink.jobs.procrastinate_scheduler import ProcrastinateScheduler

        return ProcrastinateScheduler(settings)
    return InProcessScheduler(signals)
