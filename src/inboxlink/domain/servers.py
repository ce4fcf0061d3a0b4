"""Where a mailbox's servers are: the shape shared by detection, connect and the connectors."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Security = Literal["ssl", "starttls", "none"]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    host: str
    port: int
    security: Security
    username: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServerSettings:
        return cls(
            host=str(data["host"]),
            port=int(data["port"]),
            security=data.get("security", "ssl"),
            username=str(data.get("username", "")),
        )


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username/password pair; never logged (repr hides the password)."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"
