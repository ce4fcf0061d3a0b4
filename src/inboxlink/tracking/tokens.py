"""Signed tracking tokens: what was opened or clicked, with an HMAC no one can forge.

The token carries the tracked email's id and, for links, the original URL, so the redirect
can only ever go where the email linked to. Keys derive from the vault keys: every key still
configured verifies (tokens in mail sent before a key rotation keep working), the newest signs.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

_MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def tracking_keys(vault_keys: list[str]) -> list[bytes]:
    return [hashlib.sha256(b"inboxlink-tracking:" + k.encode()).digest() for k in vault_keys]


@dataclass(frozen=True, slots=True)
class Target:
    kind: str  # "open" or "click"
    tracked_email_id: int
    url: str = ""


def sign(target: Target, key: bytes) -> str:
    body = _b64(json.dumps([target.kind, target.tracked_email_id, target.url]).encode())
    mac = hmac.new(key, body.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
    return f"{body}.{_b64(mac)}"


def verify(token: str, keys: list[bytes]) -> Target | None:
    """The target of a genuine token; None for anything altered, truncated or made up."""
    body, _, mac = token.partition(".")
    try:
        given = _unb64(mac)
        expected = [hmac.new(k, body.encode(), hashlib.sha256).digest()[:_MAC_BYTES] for k in keys]
        if not any(hmac.compare_digest(given, e) for e in expected):
            return None
        kind, email_id, url = json.loads(_unb64(body))
    except (ValueError, binascii.Error, TypeError):
        return None
    if kind not in ("open", "click") or not isinstance(email_id, int) or not isinstance(url, str):
        return None
    return Target(kind, email_id, url)
