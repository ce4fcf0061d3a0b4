"""Credentials encrypted at rest with AES-256-GCM, with key rotation.

A sealed value is ``v1.<key id>.<base64(nonce + ciphertext)>``. The key id names which of the
configured keys sealed it, so after a rotation old values stay readable until re-sealed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"


class VaultError(Exception):
    """A sealed value that no configured key can open (wrong key, tampering)."""


def _derive(material: str) -> tuple[str, AESGCM]:
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"inboxlink-vault").derive(
        material.encode()
    )
    key_id = hashlib.sha256(key).hexdigest()[:12]
    return key_id, AESGCM(key)


class Vault:
    """Seals and opens secrets. The first key seals; every key opens."""

    def __init__(self, key_materials: Sequence[str]):
        if not key_materials:
            raise ValueError("the vault needs at least one key")
        derived = [_derive(material) for material in key_materials]
        self._current_id, self._current = derived[0]
        self._keys = dict(derived)

    def seal(self, secret: dict[str, Any], *, context: str) -> str:
        """Encrypt a JSON-able secret; ``context`` (e.g. the inbox id) binds it to its owner."""
        nonce = os.urandom(12)
        data = self._current.encrypt(nonce, json.dumps(secret).encode(), context.encode())
        return f"{_VERSION}.{self._current_id}.{base64.urlsafe_b64encode(nonce + data).decode()}"

    def open(self, sealed: str, *, context: str) -> dict[str, Any]:
        try:
            version, key_id, payload = sealed.split(".", 2)
            key = self._keys[key_id]
            raw = base64.urlsafe_b64decode(payload)
            plain = key.decrypt(raw[:12], raw[12:], context.encode())
        except (ValueError, KeyError, InvalidTag) as exc:
            raise VaultError("this secret cannot be opened with the configured keys") from exc
        if version != _VERSION:
            raise VaultError(f"unknown vault format {version}")
        result: dict[str, Any] = json.loads(plain)
        return result

    def needs_reseal(self, sealed: str) -> bool:
        """True when ``sealed`` was made with an older key."""
        return sealed.split(".", 2)[1] != self._current_id

    def reseal(self, sealed: str, *, context: str) -> str:
        return self.seal(self.open(sealed, context=context), context=context)

    def __repr__(self) -> str:  # never show key material
        return f"Vault(keys={len(self._keys)})"
