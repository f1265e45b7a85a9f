"""The bounce classifier against real-world-shaped notices: each fixture's expected reading is in expected.tsv."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.bounces import classify

FIXTURES = Path(__file__).parent / "data" / "bounces"


def _table() -> list[tuple[str, ...]]:
    rows = []
    for line in (FIXTURES / "expected.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(tuple(line.split("\t")))
    return rows


TABLE = _table()


def test_every_fixture_has_an_expected_reading() -> None:
    """No fixture is left out of the table, and the set covers at least a dozen shapes."""
    assert sorted(r[0] for r in TABLE) == sorted(p.name for p in FIXTURES.glob("*.eml"))
    assert len(TABLE) >= 12


@pytest.mark.parametrize(("name", "kind", "shape", "recipient", "status", "evidence"), TABLE, ids=[r[0] for r in TABLE])
def test_classification(name: str, kind: str, shape: str, recipient: str, status: str, evidence: str) -> None:
    """Each notice is read as the kind it is, for the recipient it names, with the line that decided it."""
    bounce = classify((FIXTURES / name).read_bytes())
    assert (bounce.kind, bounce.shape) == (kind, shape)
    assert bounce.recipient == (None if recipient == "-" else recipient)
    assert bounce.status == (None if status == "-" else status)
    assert evidence in bounce.evidence


def test_envelope_recipient_is_read_for_verp() -> None:
    """Where the notice was delivered (Delivered-To, Envelope-To, To) is kept: the VERP token is in it."""
    bounce = classify((FIXTURES / "exim-user-unknown.eml").read_bytes())
    assert bounce.envelope_to[0] == "bounces+dddddddddddddddddddd@example.org"


@pytest.mark.parametrize("data", [b"", b"\x00\xff\xfe garbage", b"Subject: hello\n\n", b"From: <>\n\nbody"])
def test_junk_is_not_a_bounce(data: bytes) -> None:
    """Bytes that are not a delivery notice never raise and never count against anyone."""
    assert not classify(data).counts
