"""Counts in words: "1 item", "2 items", "0 items". Pure. The one place a number meets its noun, in the command
line's output and (as the `plural` filter) in every template."""

from __future__ import annotations

_IRREGULAR = {"delivery": "deliveries", "entry": "entries", "summary": "summaries"}


def plural(n: int, one: str, many: str | None = None) -> str:
    """`n` and the noun, singular for exactly one: plural(1, "item") == "1 item"; plural(3, "delivery") == "3
    deliveries". `many` for a plural the rule does not know; a phrase pluralises its last word ("feed items")."""
    if n == 1:
        return f"{n} {one}"
    if many is None:
        rest, sep, noun = one.rpartition(" ")
        many = rest + sep + _IRREGULAR.get(noun, noun + "s")
    return f"{n} {many}"
