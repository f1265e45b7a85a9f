"""DKIM: every message signed on its way to the mail system (`SignedSender` wraps whichever `Sender` the
settings pick), and the DNS record an operator publishes for the key.

dkimpy signs: maintained, a complete RFC 6376 implementation, and the signer behind several MTAs' milters.
Signatures are relaxed/relaxed (they survive the header refolding and trailing-space changes relays make) over
the headers a receiver judges the message by. Absent ones are signed too (as empty), so none can be added later.
"""

from __future__ import annotations

import base64
from dataclasses import replace

import dkim
import dkim.crypto

from .config import DkimSettings
from .deliver import Accepted, Attempt, Sender
from .errors import DeliveryError
from .models import Message

HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
)
_RSA = bytes.fromhex("300d06092a864886f70d0101010500")  # AlgorithmIdentifier: rsaEncryption, NULL parameters


def key_bits(pem: bytes) -> int:
    """The size of an RSA private key in PEM form (PKCS#1 or PKCS#8); ValueError saying why if it is not one."""
    try:
        return int(dkim.crypto.parse_pem_private_key(pem)["modulus"].bit_length())
    except (dkim.crypto.UnparsableKeyError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc


def public_key(pem: bytes) -> bytes:
    """The public half of an RSA private key, as DER SubjectPublicKeyInfo (what a DKIM record's p= carries)."""
    key = dkim.crypto.parse_pem_private_key(pem)
    rsa = _der(0x30, _integer(key["modulus"]) + _integer(key["publicExponent"]))
    return _der(0x30, _RSA + _der(0x03, b"\x00" + rsa))


def dns_record(settings: DkimSettings) -> tuple[str, str]:
    """The TXT record to publish for the key: its name and its value."""
    p = base64.b64encode(public_key(settings.key)).decode()
    return f"{settings.selector}._domainkey.{settings.domain}", f"v=DKIM1; k=rsa; p={p}"


def zone_line(name: str, value: str) -> str:
    """The record as a zone file line, its value cut into strings of at most 255 characters as DNS requires."""
    parts = " ".join(f'"{value[i : i + 255]}"' for i in range(0, len(value), 255))
    return f"{name}. IN TXT ( {parts} )"


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    length = (
        bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8)
    )
    return bytes([tag]) + length + body


def _integer(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1))  # one more byte: a positive sign bit


class DkimSigner:
    """Signs a message's bytes: returns them with a DKIM-Signature header in front."""

    def __init__(self, settings: DkimSettings) -> None:
        self.selector = settings.selector.encode()
        self.domain = settings.domain.encode()
        self.key = settings.key

    def sign(self, data: bytes) -> bytes:
        end = data.find(b"\n")
        linesep = b"\r\n" if end > 0 and data[end - 1 : end] == b"\r" else b"\n"  # as the message has it
        try:
            header = dkim.sign(
                data,
                self.selector,
                self.domain,
                self.key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=list(HEADERS),
                linesep=linesep,
            )
        except dkim.DKIMException as exc:
            raise DeliveryError(f"cannot DKIM-sign the message: {exc}", permanent=True) from exc
        return bytes(header) + data


class SignedSender:
    """A `Sender` that signs each message with DKIM and hands it to the sender it wraps."""

    def __init__(self, inner: Sender, signer: DkimSigner) -> None:
        self.inner = inner
        self.signer = signer

    def send(self, message: Message, *, on_attempt: Attempt | None = None, on_accepted: Accepted | None = None) -> str:
        signed = replace(message, data=self.signer.sign(message.data))
        return self.inner.send(signed, on_attempt=on_attempt, on_accepted=on_accepted)

    def release(self) -> None:
        self.inner.release()

    def close(self) -> None:
        self.inner.close()
