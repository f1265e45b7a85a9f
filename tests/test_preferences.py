"""A reader's preferences: what the footer says, which entries pass kinds/sources/regions, the YAML round trip
(comments kept), the signed link that survives a restart, and the page that saves them."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from digest import daily
from digest.auth import hash_password
from digest.config import load_settings
from digest.deliver import OutboxSender
from digest.errors import ConfigError, InputError
from digest.models import Entry, Subscriber, Summary
from digest.preferences import from_form, you_get
from digest.store import Store
from digest.subscribers import Editor, load
from digest.web import create_app

from .conftest import REPO, SECRET, serve_app

NOON = time(12, 0)
NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)


def entry(kind: str, region: str | None = None, *, youth: bool = False, source: str = "HMI Probation") -> Entry:
    summary = Summary(title="t", kind=kind, about_probation=True, summary="s")  # type: ignore[arg-type]
    return Entry(
        item_id=1,
        title="t",
        url="https://x.example/",
        source=source,
        published=NOW,
        summary=summary,
        region=region,
        youth_justice=youth,
    )


def test_the_footer_says_what_the_reader_gets() -> None:
    """The footer's sentence names the kinds, regions, sources and how often, in plain words."""
    sub = Subscriber(
        email="a@example.org",
        kinds=frozenset({"thematic", "inspection"}),
        regions=frozenset({"Kent, Surrey and Sussex"}),
        frequency="weekly",
        weekday=0,
    )
    assert you_get(sub, send_time=NOON) == "inspections and thematics from Kent, Surrey and Sussex, weekly on Mondays"
    assert you_get(Subscriber(email="b@example.org"), send_time=NOON) == "everything new, every day at 12:00"
    # with the schedule's zone, as the emails and pages say it: the UK's by name, another's as itself
    for zone, said in (("Europe/London", "12:00 UK time"), ("Europe/Paris", "12:00 Europe/Paris time")):
        assert you_get(Subscriber(email="b@example.org"), send_time=NOON, timezone=ZoneInfo(zone)).endswith(said)
    both = Subscriber(email="c@example.org", regions=frozenset({"London", "national"}), sources=frozenset({"B", "A"}))
    assert you_get(both, send_time=NOON) == (
        "everything new from London and national bodies (sources: A and B), at 12:00 on days with any"
    )


def test_the_sources_a_list_follows_are_named_and_a_long_list_is_counted() -> None:
    """The pages and emails name the feeds the list follows, not those paused; past five, the first four and how
    many more."""
    from digest.models import Feed
    from digest.preferences import FOLLOWED, followed

    def feeds(*names: str, paused: str = "") -> list[Feed]:
        return [Feed(name=n, url=f"https://x.example/{i}", enabled=n != paused) for i, n in enumerate(names)]

    assert followed([]) == FOLLOWED
    assert followed(feeds("A", "B", "A")) == "A and B"
    assert followed(feeds("A", "B", "C", paused="B")) == "A and C"
    assert followed(feeds(*(f"S{i}" for i in range(1, 6)))) == "S1, S2, S3, S4 and S5"
    assert followed(feeds(*(f"S{i}" for i in range(1, 9)))) == "S1, S2, S3, S4 and 4 more sources"


def test_regions_filter_entries_and_unplaced_items_count_as_national() -> None:
    """A region choice passes inspections in those regions; thematics, posts and national bodies pass only with
    "national"; a youth justice inspection passes with "youth justice" wherever it is."""
    london = Subscriber(email="a@example.org", regions=frozenset({"London"}))
    assert london.wants(entry("inspection", "London"))
    assert not london.wants(entry("inspection", "Wales"))
    assert not london.wants(entry("thematic"))
    assert not london.wants(entry("blog"))
    national = replace(london, regions=frozenset({"London", "national"}))
    assert national.wants(entry("thematic")) and national.wants(entry("inspection", "national"))
    youth = Subscriber(email="y@example.org", regions=frozenset({"youth justice"}))
    assert youth.wants(entry("inspection", "Wales", youth=True))
    assert not youth.wants(entry("inspection", "Wales"))
    kinds = Subscriber(email="k@example.org", kinds=frozenset({"inspection"}), sources=frozenset({"HMI Probation"}))
    assert kinds.wants(entry("inspection", "Wales"))
    assert not kinds.wants(entry("blog"))
    assert not kinds.wants(entry("inspection", source="A blog"))


def test_the_form_keeps_everything_as_everything_and_refuses_nothing_ticked() -> None:
    """All boxes ticked is stored as "everything" (so new feeds and kinds are included); no box ticked is an
    error in the page's words; a pause in the past pauses nothing."""
    sub = Subscriber(email="a@example.org")
    form = {
        "kinds": ["inspection", "thematic", "research", "news", "blog", "other"],
        "sources": ["A", "B"],
        "regions": ["London"],
        "frequency": ["weekly"],
        "day": ["friday"],
        "paused_until": ["2026-11-01"],
    }
    chosen = from_form(sub, form, feeds=["A", "B"], today=date(2026, 11, 24))
    assert (chosen.kinds, chosen.sources, chosen.regions) == (None, None, frozenset({"London"}))
    assert (chosen.frequency, chosen.weekday, chosen.paused_until) == ("weekly", 4, None)
    with pytest.raises(InputError, match="Choose at least one kind"):
        from_form(sub, {**form, "kinds": []}, feeds=["A", "B"], today=date(2026, 11, 24))
    with pytest.raises(InputError, match="daily or weekly"):
        from_form(sub, {**form, "frequency": ["hourly"]}, feeds=["A", "B"], today=date(2026, 11, 24))


def test_preferences_are_written_round_trip_keeping_comments_and_order(tmp_path: Path) -> None:
    """Saving a reader's choices changes only their entry's preferences: the editor's comments, the other
    entries and the order stay; reading the file back gives the same choices; going back to everything
    removes the preferences."""
    path = tmp_path / "subscribers.yml"
    path.write_text((REPO / "subscribers.example.yml").read_text(), encoding="utf-8")
    before = path.read_text()
    loaded = load(path)
    sub = loaded.find("research@charity.example.org")
    assert sub is not None
    chosen = replace(
        sub,
        kinds=frozenset({"research", "thematic"}),
        regions=frozenset({"Kent, Surrey and Sussex", "national"}),
        frequency="weekly",
        weekday=0,
        paused_until=date(2026, 12, 24),
    )
    after = Editor(loaded).set_preferences(chosen)
    assert after.find("research@charity.example.org") == chosen
    text = path.read_text()
    assert text.startswith(before.rsplit("  - email: research@charity.example.org", 1)[0])  # all above unchanged
    assert "    preferences:\n      kinds: [thematic, research]\n" in text
    assert "      regions: ['Kent, Surrey and Sussex', national]\n" in text  # quoted: its commas are its own
    assert "      frequency: weekly\n      day: monday\n      paused_until: 2026-12-24\n" in text
    back = Editor(after).set_preferences(Subscriber(email="research@charity.example.org"))
    assert path.read_text() == before
    assert back.find("research@charity.example.org") == Subscriber(email="research@charity.example.org")


def test_a_wrong_preference_in_the_file_names_its_line(tmp_path: Path) -> None:
    """A frequency, day or region the digest does not know is a ConfigError with the file's line."""
    path = tmp_path / "subscribers.yml"
    path.write_text("subscribers:\n  - email: a@example.org\n    preferences:\n      frequency: fortnightly\n")
    with pytest.raises(ConfigError, match=r":4: subscribers\[0\]\.preferences\.frequency: 'fortnightly'"):
        load(path)
    path.write_text("subscribers:\n  - email: a@example.org\n    preferences:\n      regions: [Mars]\n")
    with pytest.raises(ConfigError, match=r":4: .*'Mars' is not a region"):
        load(path)
    path.write_text(
        "subscribers:\n  - email: a@example.org\n    preferences:\n      regions: [Kent, Surrey and Sussex]\n"
    )
    with pytest.raises(ConfigError, match=r"'Kent' is not a region \('Kent, Surrey and Sussex' has commas: quote it"):
        load(path)


def test_the_preferences_link_survives_a_restart_and_opens_nothing_else(
    make_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no $DIGEST_SECRET, the key is kept beside the database, so a link signed before a restart still
    opens the page after it; a preferences token is not an unsubscribe token, nor the reverse."""
    monkeypatch.delenv("DIGEST_SECRET", raising=False)
    config = make_config([])
    first = load_settings(config)
    token = daily.tokens(first).preferences("Reader@Example.org")
    again = load_settings(config)  # a new process: the settings, and the key, read afresh
    assert daily.tokens(again).read_preferences(token) == "reader@example.org"
    assert daily.tokens(again).read_unsubscribe(token) is None
    assert daily.tokens(again).read_preferences(daily.tokens(again).unsubscribe("reader@example.org")) is None


@pytest.fixture
def site(make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[httpx.Client, Any]]:
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("pw"))
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    config = make_config(
        [
            {"name": "HMI Probation", "url": "http://127.0.0.1:9/a"},
            {"name": "Sector blog", "url": "http://127.0.0.1:9/b"},
        ],
        subscribers=["reader@example.org"],
    )
    settings = load_settings(config, overrides={"public_url": "http://127.0.0.1"})
    application = create_app(settings, clock=lambda: NOW, sender=OutboxSender(tmp_path / "outbox"))
    for live in serve_app(application):
        with live.client() as client:
            yield client, settings


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page)[1]  # type: ignore[index]


def test_the_page_saves_choices_where_the_editor_sees_them(site: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The signed page shows the reader's choices, saves new ones into the list (the CLI's list and the admin's
    subscribers page show them), refuses a post without the form's token, and says when nothing is ticked."""
    client, settings = site
    path = daily.preferences_url(settings, "reader@example.org").replace(settings.public_url, "")
    page = client.get(path)
    assert page.status_code == 200
    assert "You get: everything new, every day at 12:00 UK time." in page.text
    assert page.text.count("checked") == 6 + 2 + 14 + 1  # kinds, sources, regions, daily
    form = {
        "csrf": _csrf(page.text),
        "kinds": ["inspection", "thematic"],
        "sources": ["HMI Probation", "Sector blog"],
        "regions": ["Kent, Surrey and Sussex"],
        "frequency": "weekly",
        "day": "monday",
        "paused_until": "",
    }
    assert client.post(path, data={**form, "csrf": "wrong"}).status_code == 403
    nothing = client.post(path, data={**form, "kinds": []})
    assert nothing.status_code == 400 and "Choose at least one kind of item" in nothing.text
    # the form shown again with what they sent, not the saved choices (which undid every other box they changed)
    assert 'value="weekly" checked' in nothing.text and 'value="daily" checked' not in nothing.text
    assert nothing.text.count("checked") == 2 + 1 + 1  # two sources, one region, weekly; no kind
    forged = client.post(path, data={**form, "sources": ["Nonexistent Feed"]})  # only the feeds offered are kept
    assert forged.status_code == 400 and "Choose at least one source" in forged.text
    assert load(settings.subscribers_file).find("reader@example.org").sources is None  # type: ignore[union-attr]
    saved = client.post(path, data=form)
    assert saved.status_code == 200
    said = "inspections and thematics from Kent, Surrey and Sussex, weekly on Mondays"
    assert f"Saved. From the next email on, you get: {said}." in saved.text
    reader = load(settings.subscribers_file).find("reader@example.org")
    assert reader is not None and (reader.frequency, reader.sources) == ("weekly", None)
    from digest.cli import main

    main(["--config", str(settings.path), "subscribers", "list"])
    assert f"[gets {said}]" in capsys.readouterr().out
    admin = client.get("/admin/login")
    client.post("/admin/login", data={"password": "pw", "csrf": _csrf(admin.text)})
    assert said in client.get("/admin/subscribers").text


def test_a_reader_no_longer_on_the_list_and_a_bad_link(site: Any) -> None:
    """A link for an address that left the list says so (404, nothing written); a garbled link offers to email
    a fresh one."""
    client, settings = site
    before = settings.subscribers_file.read_text()
    gone = daily.preferences_url(settings, "gone@example.org").replace(settings.public_url, "")
    r = client.post(gone, data={"frequency": "weekly"})
    assert r.status_code == 404 and "not on the list" in r.text
    bad = client.get("/preferences/garbage")
    assert bad.status_code == 400 and "Email me a link to my preferences" in bad.text
    assert settings.subscribers_file.read_text() == before


def test_a_reader_whose_server_refused_the_digest_is_told_so_and_cannot_lift_it(site: Any) -> None:
    """A bounce-suppressed reader's page says their server refused the email and points at the editor; a
    resubscribe POST is refused (409) and the suppression stays: only the editor lifts a bounce (or their own
    stop, which the page names as theirs)."""
    client, settings = site
    with Store(settings.database) as store:
        store.suppress("reader@example.org", "bounced", now=NOW, detail="550 5.1.1 User unknown")
    path = daily.preferences_url(settings, "reader@example.org").replace(settings.public_url, "")
    page = client.get(path)
    assert "your mail server refused our email" in page.text and "write to the editor" in page.text
    assert "Subscribe me again" not in page.text and "You get:" not in page.text
    r = client.post(path, data={"csrf": _csrf(page.text), "action": "resubscribe"})
    assert r.status_code == 409 and "Only the editor can start sending here again." in r.text
    with Store(settings.database) as store:
        assert "reader@example.org" in store.suppressions()
        store.suppress("reader@example.org", "manual", now=NOW)
    assert "The editor has stopped sending to this address" in client.get(path).text  # not "your mail server"


def test_a_digest_narrowed_by_region_keeps_only_the_chosen_regions_cards() -> None:
    """Composed from real cards, a reader who chose Kent, Surrey and Sussex gets the West Kent inspection and
    not Cardiff's or the thematic; one who chose youth justice gets the youth justice service's anywhere."""
    from digest.compose import Candidate, compose, for_subscriber
    from digest.models import Item

    def candidate(n: int, kind: str, organisation: str | None) -> Candidate:
        url = f"https://x.example/{n}/"
        item = Item(
            feed_url="f",
            source="HMI Probation",
            guid=url,
            url=url,
            canonical_url=url,
            title=f"t{n}",
            published=NOW,
            content_html="",
            summary_html="",
            content_hash=str(n),
            id=n,
        )
        summary = Summary(
            title=f"{organisation or 'A thematic'}",
            kind=kind,
            about_probation=True,
            summary="s",
            organisation=organisation,
        )  # type: ignore[arg-type]
        return Candidate(item=item, summary=summary)

    digest = compose(
        [
            candidate(1, "inspection", "West Kent PDU"),
            candidate(2, "inspection", "Cardiff PDU"),
            candidate(3, "thematic", None),
            candidate(4, "inspection", "Leeds Youth Justice Service"),
        ],
        list_name="Probation Digest",
        day=NOW.date(),
        subject="{list_name}: {counts}",
    )
    kent = for_subscriber(
        digest, Subscriber(email="a@x.org", regions=frozenset({"Kent, Surrey and Sussex"})), "{counts}"
    )
    assert [e.title for e in kent.entries] == ["West Kent PDU"]
    assert kent.subject == "1 inspection report"
    youth = for_subscriber(digest, Subscriber(email="b@x.org", regions=frozenset({"youth justice"})), "{counts}")
    assert [e.title for e in youth.entries] == ["Leeds Youth Justice Service"]


def test_links_in_emails_sent_before_keep_working() -> None:
    """The unsubscribe and preferences links are itsdangerous's URL-safe tokens: for an address the token is the
    one itsdangerous makes, and a token from an older email that itsdangerous had compressed still opens the
    page (this service no longer tries to compress: the payload is too short to gain)."""
    from itsdangerous import URLSafeSerializer

    from digest.tokens import Tokens

    secret, list_id = "s" * 64, "probation-digest.example"
    tokens = Tokens(secret, list_id)
    for salt, make, read in (
        ("unsubscribe", tokens.unsubscribe, tokens.read_unsubscribe),
        ("reader-preferences", tokens.preferences, tokens.read_preferences),
    ):
        theirs = URLSafeSerializer(secret, salt=salt)
        assert make("Reader@Example.org") == theirs.dumps({"e": "reader@example.org", "l": list_id})
        repetitive = "probation-digest.example.probation-digest.example@probation-digest.example"
        old = theirs.dumps({"e": repetitive, "l": list_id})
        assert old.startswith(".")  # itsdangerous compressed this one
        assert read(old) == repetitive == read(make(repetitive))
    # Signed once-derived, in one HMAC call: the same tokens as itsdangerous's for any address and any secrets,
    # rotated ones included (the newest signs; each still reads).
    from digest.tokens import _OneCallSigner

    assert isinstance(tokens._unsub.make_signer(), _OneCallSigner)  # the comparison below is of that signer's tokens
    rng = random.Random(5)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789.+-_'ŵé"
    for _ in range(300):
        secrets = [
            "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 70))) for _ in range(rng.randrange(1, 3))
        ]
        local = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30)))
        email = f"{local}@{rng.choice(['example.org', 'justice.gov.uk', 'x.co'])}"
        rotated = Tokens(secrets, list_id)
        for salt, make, read in (
            ("unsubscribe", rotated.unsubscribe, rotated.read_unsubscribe),
            ("reader-preferences", rotated.preferences, rotated.read_preferences),
        ):
            theirs = URLSafeSerializer(secrets, salt=salt).dumps({"e": email.lower(), "l": list_id})
            if not theirs.startswith("."):  # one itsdangerous did not compress
                assert make(email) == theirs, (secrets, email)
            assert read(make(email)) == email.lower()
            assert read(URLSafeSerializer(secrets[0], salt=salt).dumps({"e": email.lower(), "l": list_id})) == (
                email.lower()
            )
