"""Random tokens (API tokens, session ids, CSRF) and the hashes under which they are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

API_TOKEN_PREFIX = "ilk_"  # noqa: S105 - a public marker, not a secret


def new_token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """Tokens are stored only as SHA-256: they are long and random, so no slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(session_token: str, key: str) -> str:
    """The CSRF token of a session: an HMAC of its id, so nothing more needs storing."""
    return hmac.new(key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256).hexdigest()


def csrf_valid(session_token: str, key: str, candidate: str) -> bool:
    return hmac.compare_digest(csrf_token(session_token, key), candidate)
