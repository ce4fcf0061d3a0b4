"""What detection reports: the servers found, and every step tried with its outcome (G3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from inboxlink.discovery.recommend import ProviderKind
from inboxlink.domain.servers import ServerSettings

Source = Literal["admin", "ispdb", "autoconfig", "srv", "mx", "probe"]
Outcome = Literal["found", "not_found", "error", "skipped"]


class StepRecord:
    """The public shape of a step tried, shared by settings detection and Autodiscover."""

    __slots__ = ()
    source: str
    target: str
    outcome: Outcome
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {
            "source": self.source,
            "target": self.target,
            "outcome": self.outcome,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Step(StepRecord):
    """One thing detection tried: ``target`` is the URL, DNS name or host:port it looked at."""

    source: Source
    target: str
    outcome: Outcome
    detail: str
    #: The ``AppError`` code behind an error (e.g. ``network_not_allowed``); not serialised.
    error_code: str = ""


@dataclass(frozen=True, slots=True)
class DomainServers:
    """Incoming and outgoing servers for a domain; either may be unknown."""

    imap: ServerSettings | None = None
    smtp: ServerSettings | None = None
    #: False when a server was found but its certificate did not verify (probing only).
    trusted: bool = True


@dataclass(frozen=True, slots=True)
class StepReport:
    """What one source contributed: its steps and the servers it found (possibly none)."""

    steps: tuple[Step, ...]
    servers: DomainServers = field(default_factory=DomainServers)


@dataclass(frozen=True, slots=True)
class Detection:
    provider: ProviderKind
    imap: ServerSettings | None
    smtp: ServerSettings | None
    source: Source | None
    steps: tuple[Step, ...]
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "imap": self.imap.as_dict() if self.imap else None,
            "smtp": self.smtp.as_dict() if self.smtp else None,
            "source": self.source,
            "steps": [step.to_dict() for step in self.steps],
            "message": self.message,
        }
