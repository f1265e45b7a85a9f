"""The archive over HTTP and the store's search: past digests, item pages, search with filters, the Atom feed, the
ratings tracker (page and `digest ratings`), and the email's links into the archive."""

from __future__ import annotations

import csv
import html
import io
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email import message_from_string
from email.policy import default
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import feedparser
import httpx
import pytest

from digest import daily
from digest.config import load_settings
from digest.models import Summary
from digest.store import Store
from digest.store_archive import SearchQuery, fts_query
from digest.store_schema import _MIGRATIONS, _statements
from digest.web import create_app

from .archive_data import seed_archive
from .conftest import SECRET, WebServer, demo_feeds, serve_app
from .test_cli import run

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def archive(
    make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[httpx.Client, Any, dict[str, int]]]:
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    config = make_config([], subscribers=["reader@example.org"])
    settings = load_settings(config, overrides={"public_url": "https://digest.example.org"})
    ids = seed_archive(settings, tmp_path / "outbox")
    for live in serve_app(create_app(settings, clock=lambda: NOW)):
        with live.client() as client:
            yield client, settings, ids


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def test_the_index_lists_past_digests_newest_first_with_their_counts(archive: Any) -> None:
    """/digests lists each day a digest went out, newest first, with how many items it carried."""
    client, _, _ = archive
    page = text(client.get("/digests").text)
    days = re.findall(r"(\w+day \d+ \w+ 2026) (\d) items?", page)
    assert days == [("Tuesday 24 November 2026", "2"), ("Friday 2 October 2026", "1"), ("Tuesday 30 June 2026", "2")]
    assert client.get("/digests/2026-11-24").status_code == 200  # the web version still answers


def test_the_index_is_paged(archive: Any) -> None:
    """Past 20 digests the index goes on to a second page, linked both ways; a stray page number is page 1 and one
    past the end (however large) the last page."""
    client, settings, _ = archive
    with Store(settings.database) as store:
        for n in range(1, 23):
            day = date(2025, 1, n)
            store.create_run(
                daily.run_key(settings, day), day=day, now=NOW, subject=f"old {n}", item_ids=[], html="<p>x</p>",
                text="x", recipients=[("a@example.org", None, f"<{n}@x>")],
            )  # fmt: skip
    first = client.get("/digests").text
    assert "Page 1 of 2" in first and 'href="/digests?page=2"' in first
    second = client.get("/digests?page=2").text
    assert re.findall(r"0 items: (old \d+)", text(second)) == ["old 5", "old 4", "old 3", "old 2", "old 1"]
    assert 'href="/digests"' in second and "Tuesday 24 November" not in second
    assert "Page 1 of 2" in client.get("/digests?page=nonsense").text
    for past_the_end in ("3", "999", "99999999999999999999999"):  # the last page, not an error or an empty page
        assert re.findall(r"0 items: (old \d+)", text(client.get(f"/digests?page={past_the_end}").text))[0] == "old 5"
    search = client.get("/search?q=probation&page=99999999999999999999999")
    assert search.status_code == 200 and titles(search.text) == titles(client.get("/search?q=probation").text) != []


def test_an_item_page_shows_the_full_card(archive: Any) -> None:
    """An inspection's page has its organisation, rating, region, the body's previous rating, ratings by standard,
    findings, recommendations, the chief inspector's words, its source and the digest that carried it."""
    client, _, ids = archive
    r = client.get(f"/items/{ids['wakefield-2026']}")
    assert r.status_code == 200
    page = text(r.text)
    for said in (
        "Wakefield PDU (probation delivery unit) · Region: Yorkshire and the Humber",
        "Rated: Requires improvement",
        "Previously: Good (December 2022)",
        "1.2 Staffing Inadequate",
        "Caseloads were far above",
        "The Probation Service should: Reduce caseloads to a safe level.",
        "Martin Jones, HM Chief Inspector of Probation",
        "too few of them",
        "In the digest of 24 November 2026",
    ):
        assert said in page, said
    assert 'href="https://hmiprobation.example/wakefield-2026/"' in r.text
    assert 'href="/digests/2026-11-24"' in r.text


@pytest.mark.parametrize(
    "path", ["/items/999", "/items/abc", "/items/99999999999999999999999", "/items/9223372036854775808", "/items/-1"]
)
def test_an_unknown_item_is_a_404(archive: Any, path: str) -> None:
    """An address that names no item (a number too large for the database included) is a page saying so, a 404."""
    client, _, _ = archive
    r = client.get(path)
    assert (r.status_code, "No such item" in r.text) == (404, True)


def test_an_item_not_about_probation_has_no_page(archive: Any) -> None:
    """What the filter left out of the digests is not in the archive either."""
    client, _, ids = archive
    assert client.get(f"/items/{ids['off-topic']}").status_code == 404


def titles(html: str) -> list[str]:
    return re.findall(r'<li><a href="/items/\d+">([^<]+)</a>', html)


def test_search_finds_words_anywhere_in_the_card(archive: Any) -> None:
    """Words in a recommendation, a finding or the summary find the item (stemmed: 'caseload' finds 'caseloads');
    an item not about probation is never found."""
    client, _, _ = archive
    found = titles(client.get("/search", params={"q": "caseload"}).text)
    assert sorted(found) == [
        "An inspection of probation services in: Wakefield PDU (2026)",
        "Why probation caseloads matter",
    ]
    assert titles(client.get("/search", params={"q": "homelessness"}).text) == [
        "A thematic inspection of accommodation for people on probation"
    ]
    assert titles(client.get("/search", params={"q": "compost"}).text) == []
    assert "<mark>" in client.get("/search", params={"q": "staffing"}).text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "thematic"}, ["A thematic inspection of accommodation for people on probation"]),
        ({"region": "Wales"}, ["An inspection of youth justice services in Cardiff"]),
        # national, as a reader's choice counts it: whatever is about no one place (a thematic, a post); it found
        # nothing, though the form offers it
        (
            {"region": "national"},
            ["Why probation caseloads matter", "A thematic inspection of accommodation for people on probation"],
        ),
        ({"rating": "Inadequate"}, ["A regional inspection of the North West probation region"]),
        ({"q": "caseloads", "kind": "blog"}, ["Why probation caseloads matter"]),
        (
            {"from": "2026-03-01", "to": "2026-06-30"},
            [
                "A regional inspection of the North West probation region",
                "An inspection of youth justice services in Cardiff",
            ],
        ),
        (
            {"region": "Yorkshire and the Humber", "to": "2023-01-01"},
            ["An inspection of probation services in: Wakefield PDU"],
        ),
    ],
)
def test_search_filters(archive: Any, params: dict[str, str], expected: list[str]) -> None:
    """Kind, region, rating and a date range each narrow the results; without words, newest first."""
    client, _, _ = archive
    assert titles(client.get("/search", params=params).text) == expected


@pytest.mark.parametrize("q", ['"unbalanced', "NEAR(a b", "caseloads AND OR", "*", "col:umn", "a - b ^ c", "')--"])
def test_search_syntax_from_a_reader_never_fails(archive: Any, q: str) -> None:
    """Whatever a reader types is searched as words: FTS5 operators and quotes are not an error page."""
    client, _, _ = archive
    r = client.get("/search", params={"q": q})
    assert r.status_code == 200 and "could not be run" not in r.text


def test_a_bad_date_is_a_clear_error(archive: Any) -> None:
    """A date that is not one says so, with a 400, and keeps the reader's words in the form."""
    client, _, _ = archive
    r = client.get("/search", params={"q": "wakefield", "from": "last tuesday"})
    assert r.status_code == 400 and "is not a date" in r.text and 'value="wakefield"' in r.text


def test_fts_query_quotes_every_word() -> None:
    """Each word becomes a quoted FTS5 string (quotes doubled); a trailing * stays a prefix search."""
    assert fts_query('say "hi" NEAR(x) staff*') == '"say" """hi""" "NEAR(x)" "staff"*'
    assert fts_query("-- ( )") == ""


def test_the_index_follows_every_change_to_a_summary(tmp_path: Path) -> None:
    """Re-summarising an item replaces its words in the index, and FTS5's own check finds index and text agree."""
    with Store(tmp_path / "d.sqlite3") as store:
        from .archive_data import BLOG, SEEDS, _item

        store.sync_feeds([BLOG])
        store.add_items(BLOG.url, [_item(SEEDS[5])], now=NOW, backfill_since=None)
        store.save_summary(1, Summary("Post", "blog", True, "about caseloads"), now=NOW)
        store.save_summary(1, Summary("Post", "blog", True, "about hostels"), now=NOW)
        assert [f.item.id for f in store.search(SearchQuery("hostels"), limit=5)[0]] == [1]
        assert store.search(SearchQuery("caseloads"), limit=5)[0] == []
        store.db.execute("INSERT INTO summary_search (summary_search) VALUES ('integrity-check')")


def test_upgrading_a_database_indexes_the_summaries_it_has(tmp_path: Path) -> None:
    """A database from before the archive gets every stored summary indexed when it is opened."""
    path = tmp_path / "old.sqlite3"
    before = next(n for n, script in enumerate(_MIGRATIONS) if "summary_search" in script)
    db = sqlite3.connect(path)
    for script in _MIGRATIONS[:before]:
        for statement in _statements(script):
            db.execute(statement)
    db.execute(f"PRAGMA user_version={before}")
    db.execute("INSERT INTO feeds (url, name) VALUES ('https://f/', 'F')")
    db.execute(
        "INSERT INTO items (feed_id, guid, url, canonical_url, title, published, discovered, authors, categories, "
        "links, content_html, summary_html, content_hash, state) VALUES (1, 'g', 'https://f/1', 'https://f/1', 'T', "
        "'2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00', '[]', '[]', '[]', '', '', 'h', 'seen')"
    )
    db.execute(
        'INSERT INTO summaries VALUES (1, \'{"title": "Old", "kind": "blog", "about_probation": true, '
        '"summary": "approved premises", "organisation": null, "rating": null, "published": null, '
        '"chief_inspector": null, "key_findings": [], "recommendations": []}\', \'2026-01-01\')'
    )
    db.commit()
    db.close()
    with Store(path) as store:
        assert [f.item.title for f in store.search(SearchQuery("premises"), limit=5)[0]] == ["T"]


def test_the_atom_feed_is_valid_with_one_entry_per_digest(archive: Any) -> None:
    """/digests.atom is Atom 1.0 with the elements RFC 4287 requires, one entry per digest sent, newest first, each
    listing its items linked to their archive pages; a feed reader's parser reads it without complaint."""
    client, _, ids = archive
    r = client.get("/digests.atom")
    assert r.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(r.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{required}") is not None, required
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == "https://digest.example.org/digests.atom"  # type: ignore[union-attr]
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"https://digest.example.org/digests/{d}" for d in ("2026-11-24", "2026-10-02", "2026-06-30")
    ]
    for e in entries:
        assert all(e.find(f"{ATOM}{t}") is not None for t in ("id", "title", "updated", "link", "content"))
    assert f"https://digest.example.org/items/{ids['wakefield-2026']}" in (entries[0].findtext(f"{ATOM}content") or "")
    parsed = feedparser.parse(r.content)
    assert (parsed.bozo, parsed.version, len(parsed.entries)) == (0, "atom10", 3)


def test_the_ratings_page_lists_filters_and_sorts(archive: Any) -> None:
    """/ratings has every inspection (the 2022 one a backfill would bring too) with type, region, date and rating;
    filters narrow it, and the column links sort it."""
    client, _, _ = archive
    page = client.get("/ratings").text
    rows = [
        tuple(text(cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)[:5])
        for row in re.findall(r"<tr><td><a href=\"/items/.*?</tr>", page)
    ]
    assert rows == [
        ("Wakefield PDU", "Requires improvement", "20 Nov 2026", "PDU", "Yorkshire and the Humber"),
        ("North West region", "Inadequate", "16 Jun 2026", "regional", "North West"),
        ("Cardiff Youth Justice Service", "Outstanding", "10 Mar 2026", "youth justice", "Wales"),
        ("Wakefield PDU", "Good", "6 Dec 2022", "PDU", "Yorkshire and the Humber"),
    ]
    assert "1.2 Staffing: Inadequate" in page
    assert "4 inspections" in text(page)
    narrowed = client.get("/ratings", params={"year": "2026", "type": "PDU"}).text
    assert "1 inspection" in text(narrowed) and "Cardiff" not in narrowed
    assert "No inspection matches" in client.get("/ratings", params={"rating": "Good", "year": "2026"}).text
    by_rating = client.get("/ratings", params={"sort": "rating", "order": "asc"}).text
    orgs = re.findall(r'<tr><td><a href="/items/\d+">([^<]+)</a>', by_rating)
    assert orgs == ["Cardiff Youth Justice Service", "Wakefield PDU", "Wakefield PDU", "North West region"]
    assert 'aria-sort="ascending"' in by_rating
    assert 'href="/ratings?sort=rating&amp;order=desc"' in by_rating  # the same column again flips the order


def test_the_chart_counts_this_years_ratings(archive: Any) -> None:
    """The chart on /ratings counts the year's inspections by overall rating, its bars as widths a reader sees."""
    client, _, _ = archive
    page = client.get("/ratings").text
    chart = page[page.index('<table class="chart"') : page.index('<form method="get" action="/ratings"')]
    counts = re.findall(r'<th scope="row" width="34%">([^<]+)</th>.*?<td class="count" width="10%">(\d+)</td>', chart)
    assert counts == [("Outstanding", "1"), ("Good", "0"), ("Requires improvement", "1"), ("Inadequate", "1")]
    assert 'width="100%" bgcolor="#b3261e"' in chart
    assert "<caption>Ratings this year: inspections published in 2026</caption>" in chart
    then = client.get("/ratings", params={"year": "2022"}).text
    assert "<caption>Ratings in 2022</caption>" in then and "this year" not in then


def test_the_email_links_to_the_archive_says_previously_and_carries_the_chart(archive: Any, tmp_path: Path) -> None:
    """The digest with an inspection links its titles to their archive pages, says the body's previous rating and
    shows the year's ratings as bars, in the HTML and in words in the plain text."""
    _, _, ids = archive
    eml = (tmp_path / "outbox" / "20261124" / "reader@example.org.eml").read_bytes()
    import email
    from email import policy

    msg = email.message_from_bytes(eml, policy=policy.default)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    plain = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f'<a href="https://digest.example.org/items/{ids["wakefield-2026"]}"' in html
    assert "Previously: Good (December 2022)" in html and "Previously: Good (December 2022)" in plain
    assert "Ratings this year: inspections published in 2026" in html
    assert "Outstanding 1, Good 0, Requires improvement 1, Inadequate 1." in " ".join(plain.split())
    october = (tmp_path / "outbox" / "20261002" / "reader@example.org.eml").read_text()
    assert "Ratings this year" not in october  # no inspection that day, no chart


def test_digest_ratings_prints_a_table_and_a_csv(archive: Any) -> None:
    """`digest ratings` prints the tracker as a table and, with --csv, as CSV with a header a spreadsheet reads."""
    _, settings, _ = archive
    config = settings.path
    out = run("ratings", config=config).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["Organisation", "Type", "Region", "Published", "Rating"]
    assert "Wakefield PDU" in lines[2] and "2026-11-20" in lines[2] and "Requires improvement" in lines[2]
    assert "4 of 4 inspections" in out
    rows = list(csv.DictReader(io.StringIO(run("ratings", "--csv", "--region", "Wales", config=config).stdout)))
    assert [(r["organisation"], r["type"], r["published"], r["rating"]) for r in rows] == [
        ("Cardiff Youth Justice Service", "youth justice", "2026-03-10", "Outstanding")
    ]
    wakefield = run("ratings", "--csv", "--year", "2026", "--type", "PDU", config=config).stdout
    assert "1.1 Leadership: Good; 1.2 Staffing: Inadequate" in wakefield


def test_digest_ratings_refuses_a_region_or_rating_it_does_not_know(archive: Any) -> None:
    """`digest ratings --region Mars` or `--rating Great` is a usage error (exit 2) naming the known values, not
    an empty table; a known value typed in another case is taken."""
    _, settings, _ = archive
    mars = run("ratings", "--region", "Mars", config=settings.path)
    assert mars.returncode == 2 and "'Mars' is not one of:" in mars.stderr and "'Wales'" in mars.stderr
    great = run("ratings", "--rating", "Great", config=settings.path)
    assert great.returncode == 2 and "'Requires improvement'" in great.stderr and "'No overall rating'" in great.stderr
    wales = run("ratings", "--region", "wales", config=settings.path)
    assert wales.returncode == 0 and "Cardiff Youth Justice Service" in wales.stdout
    # "none", as the table shows an inspection without one, is the "No overall rating" choice (it was refused)
    none = run("ratings", "--rating", "none", config=settings.path)
    assert none.returncode == 0 and "of 4 inspections" in none.stdout
    client, _, _ = archive
    page = client.get("/ratings", params={"rating": "none"})
    assert page.status_code == 200 and 'value="No overall rating" selected' in page.text


def test_the_home_page_leads_to_the_archive_and_feed_readers_find_the_feed(archive: Any) -> None:
    """The home page links to the archive's pages, and every page names the Atom feed for feed readers to find."""
    client, _, _ = archive
    home = client.get("/").text
    assert all(f'href="/{path}"' in home for path in ("digests", "search", "ratings"))
    for path in ("/", "/digests", "/ratings"):
        assert '<link rel="alternate" type="application/atom+xml"' in client.get(path).text


def test_a_name_a_spreadsheet_would_run_is_written_as_text(archive: Any) -> None:
    """An organisation name from a feed that starts like a formula reaches the CSV as text, not as a formula."""
    from .archive_data import INSPECTORATE, Seed, _item, _summary

    _, settings, _ = archive
    seed = Seed(
        "formula",
        INSPECTORATE,
        _summary("x", summary="", organisation='=HYPERLINK("http://evil.example") PDU'),
        NOW,
        None,
    )
    with Store(settings.database) as store:
        store.add_items(INSPECTORATE.url, [_item(seed)], now=NOW, backfill_since=None)
        item_id = store.db.execute("SELECT max(id) FROM items").fetchone()[0]
        store.save_summary(item_id, seed.summary, now=NOW)
    rows = list(csv.DictReader(io.StringIO(run("ratings", "--csv", config=settings.path).stdout)))
    assert '\'=HYPERLINK("http://evil.example") PDU' in [r["organisation"] for r in rows]


def test_a_weekly_digests_contents_and_headline_only_items_link_into_the_archive() -> None:
    """A weekly digest has no web version: its contents link to each item's page in the archive, as do the items
    listed by headline only past the size budget, in the HTML and the plain text."""
    from digest.compose import compose, trim
    from digest.messages import EmailRenderer

    from .test_render import DAY, candidates

    digest = compose(candidates(), list_name="Probation Digest", day=DAY, subject="{counts}", weekly=True)
    rendered = EmailRenderer(public_url="https://digest.example.org").render(trim(digest, 1))
    contents = rendered.html[rendered.html.index('id="headlines"') : rendered.html.index("</ul>")]
    links = re.findall(r'href="([^"]+)"', contents)
    assert links and all(re.fullmatch(r"https://digest\.example\.org/items/\d+", url) for url in links)
    headlines_only = rendered.html[rendered.html.index("More items") :]
    assert re.search(r'href="https://digest\.example\.org/items/\d+"', headlines_only)
    assert re.search(r"^  https://digest\.example\.org/items/\d+$", rendered.text, re.M)


def test_the_index_and_the_feed_count_and_order_items_as_the_email_does(
    make_config: Any, web: WebServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """After the demo's poll and send (7 feed items about probation, a blog post folded into the report it
    discusses), /digests and /digests.atom say "6 items" as the email does, and the Atom entry lists them in the
    email's sections and order, the post as "Also discussed by"."""
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    config = make_config(demo_feeds(web), subscribers=["a@example.org"])
    assert run("poll", config=config).returncode == 0
    assert run("send", config=config).returncode == 0
    email = next((tmp_path / "outbox").rglob("*.eml")).read_text()
    assert "6 new items" in email
    settings = load_settings(config)
    for live in serve_app(create_app(settings, clock=lambda: datetime.now(UTC))):
        with live.client() as client:
            assert re.search(r"\d{4} 6 items: Probation Digest", text(client.get("/digests").text))
            entry = ET.fromstring(client.get("/digests.atom").content).find(f"{ATOM}entry")
    assert entry is not None
    summary = entry.findtext(f"{ATOM}summary") or ""
    assert summary.startswith("6 items: ") and summary.endswith("; and 1 more")  # five titles, and the sixth counted
    content = entry.findtext(f"{ATOM}content") or ""
    titles = re.findall(r'/items/\d+">([^<]+)</a>', content)
    assert len(titles) == 6
    message = message_from_string(email, policy=default)
    plain = " ".join(message.get_body(("plain",)).get_content().split())  # type: ignore[union-attr]
    headlines = plain[plain.index("HEADLINES") :]
    where = [headlines.find(html.unescape(t)) for t in titles]
    assert -1 not in where and where == sorted(where), (titles, where)  # the email's order
    headings = re.findall(r"<h2>([^<]+)</h2>", content)
    assert headings and all(h.upper() in plain for h in headings)
    assert "Also discussed by Russell Webster" in content
