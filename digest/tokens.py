"""Signed tokens for links in emails: one-click unsubscribe, a reader's preferences page and subscription
confirmation (itsdangerous), each under its own salt so one kind of link never opens another's page.

An unsubscribe token names one address and one list, so it cannot be forged or reused for another address.
It does not expire: a link in a year-old email must still work; nor does a preferences token. A confirmation
token expires.
Reading a token never raises: anything but a well-formed token of the right kind, for this list, is None.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from itsdangerous import BadData, Serializer, Signer, URLSafeSerializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, want_bytes

CONFIRM_MAX_AGE = 3 * 24 * 3600


class _OneCallSigner(Signer):
    """itsdangerous's signer (HMAC-SHA1 over a key derived from the newest secret and the salt) with the key
    derived once and the HMAC made in one call to OpenSSL: itsdangerous derives the key for every token and
    hashes through `hmac.new` with a Python-level digest, the pure-Python HMAC path. The same signatures
    (tests/test_preferences.py); checking a signature is itsdangerous's own."""

    @cached_property
    def _key(self) -> bytes:
        return self.derive_key()

    def get_signature(self, value: str | bytes) -> bytes:
        return base64_encode(hmac.digest(self._key, want_bytes(value), "sha1"))


class _Uncompressed(URLSafeSerializer):
    """itsdangerous's URL-safe tokens without its zlib attempt: an address and a list id are too short for zlib
    to shorten (the same token results), and the attempt was a sixth of a send's client time per message.
    Reading is unchanged, so a compressed token from an older email still works. One signer serves every
    token (itsdangerous makes one per token)."""

    default_signer = _OneCallSigner

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))

    @cached_property
    def _signer(self) -> Signer:
        return super().make_signer()

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        return self._signer if salt is None or want_bytes(salt) == self.salt else super().make_signer(salt)


class Tokens:
    def __init__(self, secret: str | Sequence[str], list_id: str) -> None:
        """`secret`: one key, or several, oldest first: the last signs, and a link signed by any of them is valid."""
        secret = [secret] if isinstance(secret, str) else list(secret)
        self.list_id = list_id
        self._unsub = _Uncompressed(secret, salt="unsubscribe")
        self._confirm = URLSafeTimedSerializer(secret, salt="confirm-subscription")
        self._prefs = _Uncompressed(secret, salt="reader-preferences")

    def unsubscribe(self, email: str) -> str:
        return self._unsub.dumps({"e": email.lower(), "l": self.list_id})

    def read_unsubscribe(self, token: str) -> str | None:
        return self._address(self._unsub, token)

    def preferences(self, email: str) -> str:
        return self._prefs.dumps({"e": email.lower(), "l": self.list_id})

    def read_preferences(self, token: str) -> str | None:
        return self._address(self._prefs, token)

    def _address(self, signer: URLSafeSerializer, token: str) -> str | None:
        try:
            data = signer.loads(token)
        except BadData:  # a bad signature, or a good one over a payload that is not ours (BadPayload)
            return None
        if not isinstance(data, dict) or data.get("l") != self.list_id or not isinstance(data.get("e"), str):
            return None
        return str(data["e"])

    def confirm(self, email: str, name: str | None = None) -> str:
        return self._confirm.dumps({"e": email, "n": name or "", "l": self.list_id})

    def read_confirm(self, token: str, max_age: int = CONFIRM_MAX_AGE) -> tuple[str, str | None] | None:
        try:
            data = self._confirm.loads(token, max_age=max_age)
        except BadData:  # expired, forged, or a payload that is not ours
            return None
        if not isinstance(data, dict) or data.get("l") != self.list_id:
            return None
        email, name = data.get("e"), data.get("n")
        if not isinstance(email, str) or not isinstance(name, str):
            return None
        return email, name or None
