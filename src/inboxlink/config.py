"""All settings, read once from ``INBOXLINK_*`` environment variables into one typed object."""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Settings(BaseSettings):
    """The service's configuration. Every value has a default that runs the embedded mode."""

    model_config = SettingsConfigDict(env_prefix="INBOXLINK_", extra="ignore")

    data_dir: Path = Path("./.inboxlink")
    database_url: str | None = None
    #: PostgreSQL connections each process keeps open; bursts may open twice as many more.
    #: Mind the server's max_connections: (web + workers) x 3 x this, plus 4 per worker for
    #: the procrastinate engine (docs/scale-out.md, "Capacity").
    database_pool_size: int = Field(default=10, ge=1)
    public_url: str = "http://127.0.0.1:8025"
    secret_key: str | None = Field(default=None, repr=False)
    allow_private_networks: str = ""
    dns_nameservers: str = ""
    dns_timeout_seconds: float = 3.0
    backfill_days: int = 90
    sync_batch_size: int = 500
    idle_renew_seconds: float = 25 * 60
    poll_seconds: float = 60.0
    connect_timeout_seconds: float = 10.0
    probe_timeout_seconds: float = 3.0
    smtp_url: str | None = Field(default=None, repr=False)
    google_client_id: str = ""
    google_client_secret: str = Field(default="", repr=False)
    google_accounts_url: str = "https://accounts.google.com"
    google_api_url: str = "https://oauth2.googleapis.com"
    #: Gmail API base; empty means Google's own, or GOOGLE_API_URL when that was changed
    #: (one emulator or proxy then serves token, revoke and Gmail, as issue 4 specifies).
    gmail_api_url: str = ""
    gmail_poll_seconds: float = 20.0
    #: Extra Google scopes asked for in the same consent (R2), e.g. calendar, space-separated.
    google_extra_scopes: str = ""
    microsoft_client_id: str = ""
    microsoft_client_secret: str = Field(default="", repr=False)
    microsoft_tenant: str = "common"
    microsoft_login_url: str = "https://login.microsoftonline.com"
    microsoft_graph_url: str = "https://graph.microsoft.com"
    ews_poll_seconds: float = 30.0
    #: How often the sequence scheduler looks for due steps, replies and bounces.
    sequence_tick_seconds: float = 30.0
    #: Opens this soon after sending are counted as probably automatic (scanners, proxies).
    tracking_automatic_seconds: float = 10.0
    #: At most one open/click notification per tracked email in this interval.
    tracking_notify_seconds: float = 3600.0
    #: PEM file of extra certificate authorities to trust (an on-premises CA), besides the system's.
    extra_ca_file: Path | None = None
    #: Who runs sync sessions, sends and periodic jobs: ``in_process`` (the embedded default:
    #: one process, any database) or ``procrastinate`` (production: any number of
    #: ``inboxlink worker`` processes sharing the work through PostgreSQL; docs/scale-out.md).
    job_engine: Literal["in_process", "procrastinate"] = "in_process"
    #: How often a worker proves it is alive, and after how long without that its inboxes are
    #: handed to the other workers (procrastinate engine).
    worker_heartbeat_seconds: float = 10.0
    worker_stalled_seconds: float = 30.0
    #: How often a worker compares the inboxes it holds with its fair share and hands the
    #: surplus back, so inboxes spread onto workers that joined (procrastinate engine).
    rebalance_seconds: float = 60.0
    #: ``text`` for people, ``json`` for log collectors (one JSON object per line).
    log_format: Literal["text", "json"] = "text"

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def gmail_base_url(self) -> str:
        if self.gmail_api_url:
            return self.gmail_api_url.rstrip("/")
        if self.google_api_url.rstrip("/") != "https://oauth2.googleapis.com":
            return self.google_api_url.rstrip("/")
        return "https://gmail.googleapis.com"

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL, SQLite in the data directory when none is configured."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'inboxlink.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @cached_property
    def allowed_networks(self) -> tuple[Network, ...] | None:
        """Private networks opened by the admin; ``None`` means every address is allowed."""
        raw = self.allow_private_networks.strip()
        if raw in ("", "0"):
            return ()
        if raw.lower() in ("1", "true", "yes", "all"):
            return None
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(","))

    @cached_property
    def nameservers(self) -> tuple[tuple[str, int], ...]:
        """``ip[:port]`` pairs for DNS look-ups; empty means the system resolver."""
        pairs = []
        for part in filter(None, (p.strip() for p in self.dns_nameservers.split(","))):
            host, _, port = part.rpartition(":") if part.count(":") == 1 else (part, "", "53")
            pairs.append((host or part, int(port or 53)))
        return tuple(pairs)

    @property
    def key_file(self) -> Path:
        return self.data_dir / "secret.key"

    def secret_keys(self) -> list[str]:
        """The vault keys, newest first: ``INBOXLINK_SECRET_KEY`` (comma list) or the key file.

        The key file is created with mode 0600 on first use; rotation prepends a line to it.
        """
        if self.secret_key:
            return [k.strip() for k in self.secret_key.split(",") if k.strip()]
        if not self.key_file.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(32) + "\n")
        return [k.strip() for k in self.key_file.read_text().splitlines() if k.strip()]


def load_settings() -> Settings:
    return Settings()
