"""The ratings tracker's rules: one row per inspection, its type and region, the previous rating of the same body,
and the year's counts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from digest import tracker
from digest.models import Item, Summary


def row(
    n: int, organisation: str, when: date, rating: str | None, *, source: str = "inspectorate", unit: str | None = None
) -> tuple[Item, Summary]:
    url = f"https://example.org/{n}/"
    item = Item(
        "https://example.org/feed/", source, url, url, url, f"Item {n}",
        datetime(when.year, when.month, when.day, 9, tzinfo=UTC), "", "", f"h{n}", id=n, source_type=source,  # type: ignore[arg-type]
    )  # fmt: skip
    summary = Summary(
        f"Inspection of {organisation}",
        "inspection",
        True,
        "",
        organisation=organisation,
        rating=rating,
        unit=unit,
        published=when,
    )
    return item, summary


def test_one_row_per_inspection_told_by_the_inspectorate() -> None:
    """A blog's report of an inspection within a fortnight joins the inspectorate's row; a later one is its own."""
    rows = [
        row(1, "Wakefield PDU", date(2026, 11, 20), "Requires improvement"),
        row(2, "Wakefield Probation Delivery Unit", date(2026, 11, 24), None, source="blog"),
        row(3, "Wakefield PDU", date(2022, 12, 6), "Good"),
    ]
    found = tracker.inspections(rows)
    assert [(i.item_id, i.rating) for i in found] == [(1, "Requires improvement"), (3, "Good")]


def test_type_and_region_from_the_unit_or_the_name() -> None:
    """The card's unit says the type; failing that the name does; a national body is national."""
    found = tracker.inspections(
        [
            row(1, "Cardiff Youth Justice Service", date(2026, 3, 1), "Good"),
            row(2, "Kent, Surrey and Sussex", date(2026, 4, 1), "Good", unit="probation region"),
            row(3, "HM Prison and Probation Service", date(2026, 5, 1), None),
            row(4, "Durham Tees Valley CRC", date(2018, 5, 1), "Inadequate"),
        ]
    )
    assert [(i.type, i.region) for i in sorted(found, key=lambda i: i.item_id)] == [
        ("youth justice", "Wales"),
        ("regional", "Kent, Surrey and Sussex"),
        ("national", "national"),
        ("CRC", "North East"),
    ]


def test_previously_is_the_latest_earlier_rated_inspection_of_the_same_body() -> None:
    """An unrated or another body's inspection is passed over; the same report is not its own previous rating."""
    history = tracker.inspections(
        [
            row(1, "Wakefield PDU", date(2019, 3, 1), "Inadequate"),
            row(2, "Wakefield PDU", date(2022, 12, 6), "Good"),
            row(3, "Wakefield PDU", date(2024, 1, 9), None),
            row(4, "Leeds PDU", date(2025, 6, 1), "Outstanding"),
            row(5, "Wakefield PDU", date(2026, 11, 20), "Requires improvement"),
        ]
    )
    assert (
        tracker.previously("Wakefield Probation Delivery Unit", date(2026, 11, 20), history) == "Good (December 2022)"
    )
    assert tracker.previously("Wakefield PDU", date(2022, 12, 6), history) == "Inadequate (March 2019)"
    assert tracker.previously("Bradford PDU", date(2026, 11, 20), history) is None


def test_the_chart_counts_the_year_up_to_the_day() -> None:
    """Counts per rating for the year up to the digest's day; the longest bar is 100% and an empty one 0."""
    history = tracker.inspections(
        [
            row(1, "Leeds PDU", date(2026, 2, 1), "Good"),
            row(2, "Bradford PDU", date(2026, 5, 1), "Good"),
            row(3, "Derby PDU", date(2026, 6, 1), "Inadequate"),
            row(4, "Hull PDU", date(2026, 12, 1), "Outstanding"),  # after the day
            row(5, "York PDU", date(2025, 6, 1), "Outstanding"),  # another year
            row(6, "Kent PDU", date(2026, 7, 1), None),
        ]
    )
    chart = tracker.chart(history, 2026, until=date(2026, 11, 24))
    assert [(b.rating, b.count, b.percent) for b in chart.bars] == [
        ("Outstanding", 0, 0),
        ("Good", 2, 100),
        ("Requires improvement", 0, 0),
        ("Inadequate", 1, 50),
    ]
    assert (
        chart.text == "Inspections published in 2026: Outstanding 0, Good 2, Requires improvement 0, Inadequate 1; "
        "1 without an overall rating."
    )
    assert tracker.chart([], 2026).text == "No inspection published in 2026 is in the archive yet."
