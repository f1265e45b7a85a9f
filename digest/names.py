"""Names people give (a subscriber's, the list's) end up in mail headers: what such a name may hold. Pure.

A line break in a name could end the To: line and start a Bcc: line; other control characters have no place in
a name, and the bidi overrides make text display in another order than it reads. Names are checked where they
come in (`check_name`), and made safe again where headers are written (`header_safe`) for anything older.
"""

from __future__ import annotations

import re

from .text import UNSAFE_CLASS

# What no text that reaches an email may hold (controls, bidi overrides, line separators), and in a header
# not even a tab or a newline either.
_UNSAFE = re.compile(f"[\t\n{UNSAFE_CLASS}]")

PROBLEM = "a name cannot contain line breaks, control characters or text-direction overrides"


def check_name(name: str) -> str:
    """The name unchanged; ValueError saying why (and which character) when it may not go in a header."""
    bad = _UNSAFE.search(name)
    if bad:
        raise ValueError(f"{PROBLEM} (it has U+{ord(bad[0]):04X})")
    return name


def header_safe(text: str) -> str:
    """The text with every such character replaced by a space: it can never end a header line."""
    return _UNSAFE.sub(" ", text)
