"""Counts read as English wherever they are shown: one of a thing is singular, any other number plural."""

from __future__ import annotations

from digest.plural import plural
from digest.render import environment


def test_one_is_singular_and_every_other_count_plural() -> None:
    """1 item, 0 items, 2 deliveries, and a phrase pluralises its noun."""
    assert [plural(n, "item") for n in (0, 1, 2)] == ["0 items", "1 item", "2 items"]
    assert (plural(1, "delivery"), plural(3, "delivery")) == ("1 delivery", "3 deliveries")
    assert plural(2, "feed item") == "2 feed items" and plural(2, "bad row", "bad rows") == "2 bad rows"


def test_templates_have_the_plural_filter() -> None:
    """Every template (email and web) can say `{{ n|plural("item") }}`."""
    env = environment()
    shown = env.from_string('{{ 1|plural("item") }}, {{ 4|plural("subscriber") }}').render()
    assert shown == "1 item, 4 subscribers"
