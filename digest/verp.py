"""Per-recipient addresses (VERP): each digest goes out with the return path `bounces+<token>@domain`, and carries a
`mailto:unsubscribe+<token>@domain` unsubscribe, so whatever comes back to either address names its subscriber
without reading the text of the bounce.

A token is a keyed hash of the address (itsdangerous' HMAC with its own salt per purpose, in lower-case base32:
the local part of an address is at most 64 characters and some relays lower-case it). It cannot be forged
without the key, and it is read back by computing it for each address the list knows (`Index`): no table of
tokens to keep. A token from a bounce address never unsubscribes anyone, and the reverse (the salts differ).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from typing import Literal

from itsdangerous import Signer

Purpose = Literal["bounce", "unsubscribe"]
_SALTS: dict[Purpose, str] = {"bounce": "verp-return-path", "unsubscribe": "verp-unsubscribe-mailto"}
_BYTES = 15  # 120 bits, 24 base32 characters


class ReturnPaths:
    def __init__(
        self, secret: str | Sequence[str], bounce_address: str, unsubscribe_address: str | None = None
    ) -> None:
        """`secret`: one key or several, oldest first (the last signs; a token made by any of them is read)."""
        keys = [secret] if isinstance(secret, str) else list(secret)
        self.bounce_local, _, self.domain = bounce_address.lower().rpartition("@")
        unsubscribe = (unsubscribe_address or f"unsubscribe@{self.domain}").lower()
        self.unsubscribe_local, _, self.unsubscribe_domain = unsubscribe.rpartition("@")
        # itsdangerous derives one key per salt from the secret, as it does for the other links' tokens.
        self._keys = {
            p: [Signer(k, salt=salt, digest_method=hashlib.sha256).derive_key() for k in keys]
            for p, salt in _SALTS.items()
        }

    def token(self, email: str, purpose: Purpose = "bounce", *, key: bytes | None = None) -> str:
        key = key or self._keys[purpose][-1]
        mac = hmac.new(key, email.strip().lower().encode(), hashlib.sha256).digest()[:_BYTES]
        return base64.b32encode(mac).decode().lower()

    def bounce_address(self, email: str) -> str:
        """The envelope sender (MAIL FROM) for a message to `email`."""
        return f"{self.bounce_local}+{self.token(email)}@{self.domain}"

    def unsubscribe_mailto(self, email: str) -> str:
        """The List-Unsubscribe mailto: for `email`: a message to it unsubscribes them, like the one-click POST."""
        token = self.token(email, "unsubscribe")
        return f"mailto:{self.unsubscribe_local}+{token}@{self.unsubscribe_domain}?subject=unsubscribe"

    def tokens_in(self, addresses: Iterable[str]) -> list[tuple[Purpose, str]]:
        """The tokens carried by any of `addresses` (a notice's Delivered-To, To…), with what each is for."""
        found: list[tuple[Purpose, str]] = []
        for address in addresses:
            local, _, domain = address.strip().strip("<>").lower().rpartition("@")
            base, plus, token = local.partition("+")
            if not plus or not token:
                continue
            if base == self.bounce_local and domain == self.domain:
                found.append(("bounce", token))
            elif base == self.unsubscribe_local and domain == self.unsubscribe_domain:
                found.append(("unsubscribe", token))
        return found

    def index(self, emails: Iterable[str]) -> Index:
        return Index(self, emails)


class Index:
    """Token → address, for the addresses the list knows (its subscribers and everyone it has sent to)."""

    def __init__(self, paths: ReturnPaths, emails: Iterable[str]) -> None:
        self._by: dict[tuple[Purpose, str], str] = {}
        addresses = sorted({e.strip().lower() for e in emails if e.strip()})
        for purpose, keys in paths._keys.items():
            for key in keys:
                for email in addresses:
                    self._by[(purpose, paths.token(email, purpose, key=key))] = email

    def read(self, purpose: Purpose, token: str) -> str | None:
        return self._by.get((purpose, token.lower()))
