"""Golden cards: every document of the tuned halves of the labelled corpus gets the card its labels say."""

from __future__ import annotations

from datetime import date

import pytest

from .corpus import CORPUS, Case, card, load, norm_name, relevant, same_org

# Documents whose labels the rules do not reach, each with the reason (they stay visible in `make eval`).
KNOWN = {
    "cjji-joint-inspection-business-plan-2025-27": "a joint plan of four inspectorates: probation is one in four",
}
TUNED = [c for c in load() if c.half in ("tune", "holdout") and c.slug not in KNOWN]


@pytest.mark.parametrize("case", TUNED, ids=[c.slug for c in TUNED])
def test_card_matches_the_labels(case: Case) -> None:
    """Relevance, kind, organisation, rating, chief inspector and date are those a person labelled."""
    lab = case.labels
    assert relevant(case) is lab["about_probation"]
    if not lab["about_probation"]:
        return
    got = card(case)
    assert got.kind == lab["kind"]
    assert got.rating == lab["rating"]
    org = got.organisation if got.kind == "inspection" else None
    assert same_org(org, lab["organisation"] if lab["kind"] == "inspection" else None), org
    assert norm_name(got.chief_inspector) == norm_name(lab["chief_inspector"])
    assert got.published in (None, date.fromisoformat(lab["published"]) if lab["published"] else None)


def test_the_corpus_ships_only_text_it_may() -> None:
    """Every document names its source and a licence that allows shipping it (OGL, or US federal)."""
    cases = load()
    assert len(cases) >= 195
    for c in cases:
        assert c.labels["source_url"].startswith(("https://", "http://")), c.slug
        assert c.labels["licence"] in ("OGL-3.0", "public-domain-us-federal"), c.slug
    provenance = (CORPUS / "PROVENANCE.md").read_text(encoding="utf-8")
    assert all(c.labels["source_url"] in provenance for c in cases)
