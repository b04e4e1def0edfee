"""The operator key ring: AES-256-GCM keys, the first seals, every one unseals (so a new key can be put first and the
old ones kept until every binding has been sealed again).

A sealed value is ``version | key id (8 bytes) | nonce (12 bytes) | ciphertext+tag``. The associated data names whose
key it is, so a sealed value moved to another person's row does not open.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["KeyRing", "SealError", "new_ring_key"]

_VERSION = b"\x01"
_ID = 8
_NONCE = 12
_HOW = 'generate one with: civis-mcp keys new-ring-key (or python -c "import secrets,base64; ' + (
    'print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())")'
)


class SealError(Exception):
    """A sealed value that no key of the ring opens (wrong ring, or tampered with)."""


def new_ring_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"civis-mcp/ring-key-id:" + key).digest()[:_ID]


class KeyRing:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError(f"CIVIS_MCP_KEY_RING is empty; {_HOW}.")
        self._keys = [(_key_id(key), key) for key in keys]

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing({len(self._keys)} keys)"

    @classmethod
    def parse(cls, raw: str) -> KeyRing:
        """Comma-separated keys, each 32 bytes in base64 (URL-safe or standard)."""
        keys: list[bytes] = []
        for index, part in enumerate(p.strip() for p in raw.split(",") if p.strip()):
            try:
                key = base64.urlsafe_b64decode(part.replace("+", "-").replace("/", "_") + "=" * (-len(part) % 4))
            except (binascii.Error, ValueError):
                key = b""
            if len(key) != 32:
                raise ValueError(f"CIVIS_MCP_KEY_RING: key {index + 1} is not 32 bytes in base64; {_HOW}.")
            keys.append(key)
        return cls(keys)

    @property
    def sealing_key_id(self) -> str:
        return self._keys[0][0].hex()

    def seal(self, plain: str, context: bytes) -> bytes:
        key_id, key = self._keys[0]
        nonce = secrets.token_bytes(_NONCE)
        return _VERSION + key_id + nonce + AESGCM(key).encrypt(nonce, plain.encode(), context)

    def unseal(self, sealed: bytes, context: bytes) -> str:
        if len(sealed) < 1 + _ID + _NONCE + 16 or sealed[:1] != _VERSION:
            raise SealError("not a sealed value of this version")
        key_id, nonce, body = sealed[1 : 1 + _ID], sealed[1 + _ID : 1 + _ID + _NONCE], sealed[1 + _ID + _NONCE :]
        for candidate_id, key in self._keys:
            if candidate_id == key_id:
                try:
                    return AESGCM(key).decrypt(nonce, body, context).decode()
                except InvalidTag:
                    break
        raise SealError("no key of the ring opens it (was the key that sealed it removed from CIVIS_MCP_KEY_RING?)")

    def signing_keys(self, purpose: str) -> list[bytes]:
        """HMAC keys derived from the ring for ``purpose``: the first signs, all verify."""
        return [
            HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"civis-mcp/{purpose}".encode()).derive(key)
            for _, key in self._keys
        ]
