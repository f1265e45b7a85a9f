"""An email address in its normal form (syntax only, no DNS), as email_validator gives it, without importing
email_validator for the usual address: its import compiles its grammar, a tenth of a poll's start-up, and the
settings' addresses are read by every command."""

from __future__ import annotations

import re

# email_validator's special-use domains (its SPECIAL_USE_DOMAIN_NAMES; tests/test_subscribers.py checks the copy).
SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")
_SPECIAL_USE_LAST = frozenset(SPECIAL_USE)  # each is one label: a domain is one when it ends in that label

# An address email_validator is sure to accept as it is: an ASCII dot-atom, a lower-case ASCII domain of two or
# more labels, none starting with a hyphen, the last ending in a letter, no label with "--" in it (Punycode and its
# look-alikes), within the lengths, and no special-use domain. Its normal form is itself. Anything else goes
# through email_validator.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(
    rf"(?P<local>{_ATEXT}(?:\.{_ATEXT})*)@(?P<domain>(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:[a-z0-9][a-z0-9-]{{0,61}})?[a-z])"
)


def plain(value: str) -> bool:
    """Whether email_validator would take the address exactly as it is."""
    found = _PLAIN_ADDRESS.fullmatch(value)
    if found is None or len(value) > 254 or len(found["local"]) > 64:
        return False
    # The pattern keeps each label within 63 characters, so the domain within 253 once the whole is within 254.
    domain = found["domain"]
    return "--" not in domain and domain[domain.rfind(".") + 1 :] not in _SPECIAL_USE_LAST


def normal(value: str) -> str:
    """The address in its normal form; raises email_validator's EmailNotValidError (a ValueError)."""
    value = value.strip()
    if plain(value):
        return value  # what email_validator would return, a hundred times sooner (tests pin the two together)
    from email_validator import validate_email

    return validate_email(value, check_deliverability=False).normalized
