"""Regions: every organisation a report card names maps to its probation region, from the table shipped as data."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from digest.regions import NATIONAL, REGIONS, _parse, region_of

from .conftest import DATA


def corpus_organisations() -> list[str]:
    """The organisation labelled on every inspection in the corpus that is about probation."""
    organisations = []
    for path in sorted((DATA / "corpus").glob("*.json")):
        labels = json.loads(path.read_text(encoding="utf-8"))
        if labels.get("kind") == "inspection" and labels.get("about_probation") is True and labels["organisation"]:
            organisations.append(labels["organisation"])
    return organisations


def test_every_corpus_organisation_maps_to_a_region() -> None:
    """Each organisation labelled on the corpus's probation inspections has a region (or is national)."""
    organisations = corpus_organisations()
    assert len(organisations) >= 150
    unmapped = [name for name in organisations if region_of(name) not in (*REGIONS, NATIONAL)]
    assert unmapped == []


@pytest.mark.parametrize(
    ("organisation", "region"),
    [
        ("Salford Youth Justice Service", "Greater Manchester"),
        ("Cardiff Youth Offending Service", "Wales"),
        ("Lambeth YJS", "London"),
        ("Wakefield Probation Delivery Unit", "Yorkshire and the Humber"),
        ("Trafford Youth Justice Service", "Greater Manchester"),
        ("Isle of Wight Youth Justice Service", "South Central"),
        ("Camden Youth Offending Service", "London"),
        ("Ceredigion Youth Justice and Prevention Service", "Wales"),
        ("Durham Tees Valley CRC", "North East"),
        ("Cumbria", "North West"),
        ("Kent Probation Trust", "Kent, Surrey and Sussex"),
        ("HM Prison and Probation Service", NATIONAL),
        ("His Majesty’s Prison and Probation Service", NATIONAL),
        ("Hull (Kingston upon Hull) YJS", "Yorkshire and the Humber"),
        ("North East region", "North East"),
        ("NPS Wales", "Wales"),
        ("Kent, Surrey and Sussex region of the Probation Service", "Kent, Surrey and Sussex"),
        ("Redcar, Cleveland & Middlesbrough PDU", "North East"),
        ("Swansea Neath Port Talbot Probation Delivery Unit", "Wales"),
        ("Humberside, Lincolnshire & North Yorkshire Community Rehabilitation Company", "Yorkshire and the Humber"),
        ("Cheshire and Greater Manchester CRC", "North West"),
        ("Northamptonshire PDU", "East of England"),
        ("Midlands NPS", "West Midlands"),
        ("London division of the National Probation Service", "London"),
        ("South Yorks", "Yorkshire and the Humber"),
        ("NE Lincs YOT", "Yorkshire and the Humber"),
        ("North Lincolnshire Youth Offending Service", "Yorkshire and the Humber"),
        ("Lincolnshire Probation Trust", "East Midlands"),
        ("HMPPS Wales", "Wales"),
        ("Probation in England and Wales", NATIONAL),
    ],
)
def test_known_organisations_map_to_their_region(organisation: str, region: str) -> None:
    """A known organisation, written as cards write it, gets its region."""
    assert region_of(organisation) == region


@pytest.mark.parametrize("organisation", [None, "", "Youth Justice Service", "Youth justice", "Police Scotland"])
def test_no_region_without_a_place(organisation: str | None) -> None:
    """A name that names no place in England or Wales has no region; youth justice is not a region."""
    assert region_of(organisation) is None


def test_every_region_answers_to_its_own_name() -> None:
    """The 12 regions come in their fixed order and each region's name maps to itself."""
    assert len(REGIONS) == 12 and REGIONS[0] == "North East" and REGIONS[-1] == "Wales"
    assert [region_of(f"{region} region") for region in REGIONS] == list(REGIONS)


def test_a_place_in_two_regions_is_refused() -> None:
    """A table that puts one place in two regions is an error, not a silent choice."""
    regions = "\n".join(f"  - name: {region}" for region in REGIONS)
    text = f"regions:\n{regions}\n".replace("name: London", "name: London\n    pdus: [Cumbria]")
    text = text.replace("name: North West", "name: North West\n    pdus: [Cumbria PDU]")
    with pytest.raises(ValueError, match="Cumbria"):
        _parse(text)


def test_importing_reads_nothing() -> None:
    """Importing the module does not read the table; the first lookup does, once."""
    code = (
        "import digest.regions as r\n"
        "assert r._table.cache_info().currsize == 0\n"
        "r.region_of('Leeds PDU'); r.region_of('Sefton PDU')\n"
        "assert r._table.cache_info().misses == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
