"""The whole pipeline against real servers on 127.0.0.1: feeds and pages over HTTP, mail over SMTP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from digest import daily, pipeline
from digest.cli import main as cli_main
from digest.config import load_settings
from digest.deliver import OutboxSender, SmtpSender
from digest.fetch import Fetcher
from digest.store import Store

from .conftest import Mailbox, WebServer, demo_feeds, respond

NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOON


def poll_all(config: Path) -> tuple[list[pipeline.PollResult], int]:
    settings = load_settings(config)

    async def run() -> tuple[list[pipeline.PollResult], int]:
        with Store(settings.database) as store:
            async with Fetcher(settings.fetch) as fetcher:
                results = await pipeline.poll(settings, store, fetcher, clock=clock)
                n = await pipeline.process(settings, store, fetcher, clock=clock)
        return results, n

    return asyncio.run(run())


def send(config: Path, **kw: Any) -> daily.SendOutcome:
    settings = load_settings(config)
    with Store(settings.database) as store:
        sender = SmtpSender(settings.smtp, backoff=0.01) if settings.smtp else OutboxSender(settings.outbox_dir)
        return daily.send_digest(settings, store, sender, clock=clock, **kw)


def test_poll_summarise_and_send_over_real_servers(web: WebServer, smtp: tuple[Mailbox, int], make_config: Any) -> None:
    """Every subscriber gets one multipart message with the South Yorkshire report card and the blog linked."""
    box, port = smtp
    subs = ["a@example.org", "b@example.org", "c@example.org"]
    config = make_config(demo_feeds(web), subscribers=subs, smtp_port=port)
    results, summarised = poll_all(config)
    assert [r.status for r in results] == ["new"] * 4
    assert summarised == 8
    outcome = send(config)
    assert outcome.report is not None and outcome.report.sent == 3
    assert sorted(box.recipients) == subs
    msg = box.to("a@example.org")[0]
    assert msg["Subject"] == "Probation Digest, Tue 24 Nov: 2 inspection reports, 4 posts"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Probation work in South Yorkshire ‘generally good’" in text
    assert "Recommendations (13):" in text
    assert "No overall rating" in html
    assert "Also discussed by Russell Webster" in text
    assert max(len(line) for line in text.splitlines() if "http" not in line) <= 72
    assert "Prison officer recruitment drive" not in text  # the prisons item was filtered out
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://digest.example.org/unsubscribe/" in msg["List-Unsubscribe"]
    # The report was fetched from its HTML page (the site since 2025), not from the PDF.
    assert any("/document/quality-and-impact-inspection-south-yorkshire/" in h for h in web.hits)
    assert not any(h.endswith(".pdf") for h in web.hits)


def test_second_send_the_same_day_sends_nothing(web: WebServer, make_config: Any, tmp_path: Path) -> None:
    """The ledger makes a second run a no-op that says why; a new subscriber still gets today's digest."""
    config = make_config(demo_feeds(web), subscribers=["a@example.org"])
    poll_all(config)
    first = send(config)
    assert first.report is not None and first.report.sent == 1
    again = send(config)
    assert again.report is None and "already sent today to 1 subscriber;" in again.message
    (tmp_path / "subscribers.yml").write_text("subscribers:\n  - email: a@example.org\n  - email: late@example.org\n")
    late = send(config)
    assert late.report is not None and late.report.sent == 1
    assert sorted(p.name for p in (tmp_path / "outbox").rglob("*.eml")) == ["a@example.org.eml", "late@example.org.eml"]


def test_report_pdf_is_read_when_there_is_no_report_page(web: WebServer, make_config: Any) -> None:
    """On the old site a news item links only to a PDF: the card comes from the PDF."""
    web.route(
        "/hmiprobation.justiceinspectorates.gov.uk/document/quality-and-impact-inspection-south-yorkshire/",
        respond(404, b"gone", ctype="text/html"),
    )
    config = make_config(demo_feeds(web)[:1], subscribers=["a@example.org"])
    poll_all(config)
    settings = load_settings(config)
    with Store(settings.database) as store:
        summaries = [s for _, s, _ in store.pending_items()]
    card = next(s for s in summaries if "South Yorkshire" in s.title)
    assert len(card.recommendations) == 13
    assert any(h.endswith("South-Yorkshire-QI-report.pdf") for h in web.hits)


def test_one_broken_feed_never_stops_the_digest(web: WebServer, make_config: Any) -> None:
    """A feed that fails is recorded with its error; the others are polled, summarised and sent."""
    broken = web.route("/broken/feed", respond(500, b"oops"))
    feeds = [*demo_feeds(web)[1:2], {"name": "Broken", "url": broken, "type": "blog"}]
    config = make_config(feeds, subscribers=["a@example.org"])
    results, _ = poll_all(config)
    assert [r.status for r in results] == ["new", "error"]
    assert results[1].error == "http: HTTP 500"
    outcome = send(config)
    assert outcome.report is not None and outcome.report.sent == 1
    settings = load_settings(config)
    with Store(settings.database) as store:
        health = {h.name: h for h in store.feed_health()}
    assert health["Broken"].failures == 1 and health["Broken"].last_error == "HTTP 500"
    assert health["Russell Webster"].last_success == NOON


def test_hostile_feed_html_never_reaches_the_message(web: WebServer, make_config: Any, tmp_path: Path) -> None:
    """Script, handlers, javascript:/data: links, iframes, forms, CSS expressions and pixels are all gone."""
    evil = (
        "<p>Probation officers supervise people on licence; the probation service and the CRC were inspected "
        "by HM Inspectorate of Probation.<script>alert('x')</script></p>"
        '<p onmouseover="steal()">Community sentences and unpaid work.<img src="https://tracker.example/p.gif"></p>'
        '<a href="javascript:alert(1)">click</a><a href="data:text/html;base64,PHNjcmlwdD4=">d</a>'
        '<iframe src="https://evil.example/"></iframe><form action="https://evil.example/"><input name="q"></form>'
        '<div style="width: expression(alert(1))">styled</div><svg onload="alert(1)"></svg>'
    )
    feed = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<channel><title>Evil</title><link>https://evil.example/</link><item>"
        "<title>&lt;script&gt;alert(1)&lt;/script&gt;Probation &lt;b&gt;news&lt;/b&gt;</title>"
        "<link>https://evil.example/post</link><guid>e1</guid>"
        f"<content:encoded><![CDATA[{evil}]]></content:encoded></item></channel></rss>"
    ).encode()
    url = web.route("/evil/feed", respond(200, feed))
    config = make_config([{"name": "Evil <b>Blog</b>", "url": url, "type": "blog"}], subscribers=["a@example.org"])
    poll_all(config)
    outcome = send(config)
    assert outcome.report is not None and outcome.report.sent == 1
    from email import message_from_bytes, policy

    msg = message_from_bytes(next((tmp_path / "outbox").rglob("*.eml")).read_bytes(), policy=policy.default)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for bad in (
        "<script",
        "onmouseover",
        "javascript:",
        "data:text",
        "<iframe",
        "<form",
        "expression(",
        "tracker.example",
        "<svg",
        "onload",
        "<b>",
    ):
        assert bad not in html, bad
    for bad in ("javascript:", "data:text", "tracker.example", "onmouseover"):
        assert bad not in text, bad
    assert "Probation officers supervise people on licence" in html
    assert "Evil &lt;b&gt;Blog&lt;/b&gt;" in html  # the feed's name is shown as text, not markup


def test_empty_day_sends_nothing_and_is_recorded(
    make_config: Any, web: WebServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With nothing new, no email goes out by default, and `digest status` shows the empty day."""
    config = make_config([], subscribers=["a@example.org"])
    outcome = send(config)
    assert "nothing new today" in outcome.message
    assert not (tmp_path / "outbox").exists()
    settings = load_settings(config)
    with Store(settings.database) as store:
        runs = store.recent_runs()
    assert runs[0].status == "empty"
    cli_main(["--config", str(config), "status"])
    assert "2026-11-24  empty    empty day, nothing sent" in capsys.readouterr().out


def test_test_copy_leaves_the_ledger_alone(
    web: WebServer, make_config: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`digest send --to` delivers a copy marked as a test, and the day's real send still goes to everyone."""
    config = make_config(demo_feeds(web)[:2], subscribers=["a@example.org"])
    poll_all(config)
    cli_main(["--config", str(config), "send", "--to", "editor@example.org"])
    assert "test copy sent to editor@example.org" in capsys.readouterr().out
    test_file = next((tmp_path / "outbox").rglob("editor@example.org.eml")).read_text()
    assert "Subject: [TEST] Probation Digest" in test_file
    outcome = send(config)
    assert outcome.report is not None and outcome.report.sent == 1


def test_no_send_after_unsubscribing_even_for_an_interrupted_row(
    web: WebServer, make_config: Any, tmp_path: Path
) -> None:
    """A row left `sending` by a crash is not sent if its address unsubscribed before the rerun."""
    config = make_config(demo_feeds(web)[1:2], subscribers=["a@example.org", "b@example.org"])
    poll_all(config)
    settings = load_settings(config)
    with Store(settings.database) as store:
        sender = OutboxSender(settings.outbox_dir)
        # Start the run, then fake a crash: both rows back to "sending", nothing delivered yet.
        daily.send_digest(settings, store, sender, clock=clock)
        key = daily.run_key(settings, NOON.date())
        for email in ("a@example.org", "b@example.org"):
            store.mark(key, email, "sending", now=NOON)
        for eml in (tmp_path / "outbox").rglob("*.eml"):
            eml.unlink()
        store.suppress("b@example.org", "unsubscribed", now=NOON)
        outcome = daily.send_digest(settings, store, sender, clock=clock)
        assert outcome.report is not None and outcome.report.sent == 1
        assert {d.email: d.state for d in store.deliveries(key)} == {
            "a@example.org": "sent",
            "b@example.org": "suppressed",
        }
    assert [p.name for p in (tmp_path / "outbox").rglob("*.eml")] == ["a@example.org.eml"]


def test_items_filtered_out_do_not_wait_for_ever(web: WebServer, make_config: Any) -> None:
    """The prisons item is left out of today's digest and is not considered again tomorrow."""
    config = make_config(demo_feeds(web)[3:], subscribers=["a@example.org"])  # GOV.UK: one probation, one prisons
    poll_all(config)
    settings = load_settings(config)
    with Store(settings.database) as store:
        assert len(store.pending_items()) == 2
        daily.send_digest(settings, store, OutboxSender(settings.outbox_dir), clock=clock)
        assert store.pending_items() == []


def test_preview_and_test_copy_agree_after_an_empty_day(web: WebServer, make_config: Any) -> None:
    """Once today was recorded as empty, preview and `send --to` both show what has arrived since."""
    config = make_config([demo_feeds(web)[1]], subscribers=["a@example.org"])
    settings = load_settings(config)
    with Store(settings.database) as store:
        daily.send_digest(settings, store, OutboxSender(settings.outbox_dir), clock=clock)  # nothing yet: empty
    poll_all(config)
    with Store(settings.database) as store:
        previewed, _html, _text = daily.preview(settings, store, now=NOON)
        test_copy = daily.test_message(settings, store, "editor@example.org", now=NOON)
    assert previewed.count == 3
    assert f"Subject: [TEST] {previewed.subject}" in test_copy.data.decode("ascii")


def test_a_feed_text_that_reads_shorter_than_it_looks_sends_for_the_page(web: WebServer, make_config: Any) -> None:
    """A feed item of 160 words, 25 of them a newsletter sign-up that extraction drops, leaves too little to
    summarise: its page is fetched and read, and the summary says what the page says (or, when the page cannot
    be had, what the feed said). An excerpt (under 150 words) is read from its page too, and a full post in the
    feed is read without fetching anything."""
    post = (
        "Probation officers in the north of the region told inspectors that caseloads had fallen since the spring. "
        "Managers now review every case at allocation and again after three months. "
        "The service has recruited trainee probation officers and expects them to qualify next year. "
    ) * 3
    sign_up = (
        "Subscribe to our newsletter for every post by email, sent once a week with the news from probation and "
        "youth justice services across England and Wales."
    )
    page_text = "The full report finds that supervision of people on licence has improved in every team. " * 12
    page = f"<html><body><article><h1>Caseloads fall</h1><p>{page_text}</p></article></body></html>".encode()

    def rss(items: list[tuple[str, str]]) -> bytes:
        entries = "".join(
            f"<item><title>Post {n}</title><link>{web.base}/post/{n}</link><guid>{web.base}/post/{n}</guid>"
            f"<pubDate>Tue, 24 Nov 2026 09:00:00 +0000</pubDate><content:encoded><![CDATA[{body}]]></content:encoded>"
            "</item>"
            for n, body in items
        )
        return (
            '<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
            f"<channel><title>Blog</title><link>{web.base}/</link>{entries}</channel></rss>"
        ).encode()

    short_looking_long = f"<p>{post}</p><p>{sign_up}</p>"
    excerpt = "<p>" + " ".join(post.split()[:60]) + " […]</p>"
    full = "".join(f"<p>{post}</p>" for _ in range(4))
    assert len(post.split()) < 150 <= len(f"{post} {sign_up}".split())
    for n in ("long-looking", "excerpt", "full"):
        web.route(f"/post/{n}", respond(200, page, ctype="text/html; charset=utf-8"))
    web.route("/post/gone", respond(404, b"gone", ctype="text/html"))
    entries = [("long-looking", short_looking_long), ("excerpt", excerpt), ("full", full), ("gone", short_looking_long)]
    feed = web.route("/feed", respond(200, rss(entries)))
    config = make_config([{"name": "Blog", "url": feed, "type": "blog", "filter": False}])
    poll_all(config)
    settings = load_settings(config)
    with Store(settings.database) as store:
        read = {item.url.rsplit("/", 1)[-1]: (summary, doc) for item, summary, doc in store.pending_items()}
    for n in ("long-looking", "excerpt"):
        summary, doc = read[n]
        assert doc is not None and doc.format == "html", n
        assert "supervision of people on licence has improved" in summary.summary, n
    summary, doc = read["full"]
    assert doc is not None and doc.format == "feed" and "caseloads had fallen" in summary.summary
    assert web.hits.count("/post/long-looking") == 1 and web.hits.count("/post/excerpt") == 1
    assert "/post/full" not in web.hits
    summary, doc = read["gone"]  # its page cannot be read: the feed's text is summarised
    assert doc is not None and doc.format == "feed" and "caseloads had fallen" in summary.summary
