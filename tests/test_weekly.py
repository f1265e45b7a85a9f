"""Weekly digests and switches between daily and weekly: day after day of real sends (a SQLite file, the real send
path, a real aiosmtpd server), every item reaches every reader exactly once, whatever they switch and whenever
the service was down, across a clock change."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from digest import daily, schedule
from digest.config import Settings, load_settings
from digest.deliver import SmtpSender
from digest.models import Item, Summary
from digest.store import Store
from digest.subscribers import Editor, load

from .conftest import Mailbox

LONDON = ZoneInfo("Europe/London")
FEED = "http://127.0.0.1:9/sector/feed.xml"
TOKEN = re.compile(r"Item-\d{8}")


class Days:
    """A list run day by day: an item published each morning, the noon send, and what each reader received."""

    def __init__(self, config: Path, box: Mailbox) -> None:
        self.settings: Settings = load_settings(config)
        self.box = box
        self.published: list[str] = []
        self.mails: dict[str, list[tuple[date, set[str]]]] = {}
        self.seen = 0
        with Store(self.settings.database) as store:
            store.sync_feeds(self.settings.feeds)

    def publish(self, day: date, kind: str = "blog", tag: str = "Item") -> None:
        token = f"{tag}-{day:%Y%m%d}"
        url = f"https://blog.example/{token}/"
        published = datetime.combine(day, time(9, 0), tzinfo=LONDON).astimezone(UTC)
        item = Item(
            feed_url=FEED,
            source="Sector blog",
            guid=url,
            url=url,
            canonical_url=url,
            title=f"{token}: news from the sector",
            published=published,
            content_html="<p>text</p>",
            summary_html="",
            content_hash=hashlib.sha256(url.encode()).hexdigest(),
        )
        with Store(self.settings.database) as store:
            (new,) = store.add_items(FEED, [item], now=published, backfill_since=None)
            assert new.id is not None
            summary = Summary(title=item.title, kind=kind, about_probation=True, summary="What it says.")  # type: ignore[arg-type]
            store.save_summary(new.id, summary, now=published)
        if tag == "Item":
            self.published.append(token)

    def send(self, day: date) -> daily.SendOutcome:
        """The noon send of `day` (noon in London, whatever the offset that day), and what it delivered."""
        noon = datetime.combine(day, self.settings.send_time, tzinfo=LONDON)
        assert self.settings.smtp is not None
        with Store(self.settings.database) as store:
            outcome = daily.send_digest(
                self.settings, store, SmtpSender(self.settings.smtp, backoff=0.01), clock=lambda: noon
            )
        for to, data in self.box.messages[self.seen :]:
            text = message_from_bytes(data, policy=policy.default).get_body(("plain",)).get_content()  # type: ignore[union-attr]
            self.mails.setdefault(to, []).append((day, set(TOKEN.findall(text))))
        self.seen = len(self.box.messages)
        return outcome

    def run(self, first: date, last: date, *, up: bool = True) -> None:
        """Each day from `first` to `last`: an item, and (when the service is up) the noon send."""
        day = first
        while day <= last:
            self.publish(day)
            if up:
                self.send(day)
            day += timedelta(days=1)

    def switch(self, email: str, **choices: Any) -> None:
        loaded = load(self.settings.subscribers_file)
        sub = loaded.find(email)
        assert sub is not None
        Editor(loaded).set_preferences(replace(sub, **choices))

    def received(self, email: str) -> Counter[str]:
        """How many emails carried each item to `email`."""
        return Counter(token for _, tokens in self.mails.get(email, []) for token in tokens)

    def days_mailed(self, email: str) -> list[date]:
        return [day for day, _ in self.mails.get(email, [])]

    def periods(self, email: str) -> list[str]:
        with Store(self.settings.database) as store:
            rows = store.db.execute(
                "SELECT period FROM deliveries WHERE email=? AND state='sent' ORDER BY run_key", (email,)
            )
            return [r[0] for r in rows]


@pytest.fixture
def days(smtp: tuple[Mailbox, int], make_config: Any, tmp_path: Path) -> Days:
    config = make_config([{"name": "Sector blog", "url": FEED}], subscribers=[], smtp_port=smtp[1])
    (tmp_path / "subscribers.yml").write_text(
        "# the list\n"
        "subscribers:\n"
        "  - email: daily@example.org\n"
        "  - email: weekly@example.org  # weekly on Mondays\n"
        "    preferences:\n"
        "      frequency: weekly\n"
        "      day: monday\n"
        "  - email: switcher@example.org\n",
        encoding="utf-8",
    )
    return Days(config, smtp[0])


def once_each(days: Days, email: str) -> None:
    assert days.received(email) == Counter(days.published), email


def test_switching_daily_to_weekly_and_back_delivers_every_item_once(days: Days) -> None:
    """A reader who goes weekly on a Wednesday gets nothing more until Monday, then the rest of the week in one
    email; back to daily on a Thursday, their first daily email carries everything since that Monday: over two
    weeks every item reaches every reader exactly once."""
    days.run(date(2026, 11, 16), date(2026, 11, 18))  # Monday to Wednesday: the switcher is daily
    days.switch("switcher@example.org", frequency="weekly", weekday=0)
    days.run(date(2026, 11, 19), date(2026, 11, 26))  # Thursday to the next Thursday
    mailed = [date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 23)]
    assert days.days_mailed("switcher@example.org") == mailed  # weekly from Thursday: nothing until Monday
    monday = days.mails["switcher@example.org"][3][1]
    assert monday == {f"Item-202611{d}" for d in range(19, 24)}  # Thursday to Monday, in the weekly email
    days.switch("switcher@example.org", frequency="daily")
    days.run(date(2026, 11, 27), date(2026, 11, 30))  # back to daily on Friday, until the next Monday
    catch_up = days.mails["switcher@example.org"][4]
    assert catch_up == (date(2026, 11, 27), {f"Item-202611{d}" for d in range(24, 28)})  # Tuesday to Friday
    for email in ("daily@example.org", "weekly@example.org", "switcher@example.org"):
        once_each(days, email)
    assert days.days_mailed("weekly@example.org") == [date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]
    assert days.periods("weekly@example.org") == ["weekly:2026-W47", "weekly:2026-W48", "weekly:2026-W49"]
    assert days.periods("switcher@example.org")[2:5] == ["daily:2026-11-18", "weekly:2026-W48", "daily:2026-11-27"]


def test_a_weekly_reader_switching_to_daily_mid_week_gets_the_week_so_far_the_same_day(days: Days) -> None:
    """Weekly to daily after that day's send has gone: a second send that day (a restart, an editor's send) gives
    them what they are owed at once, and the ledger still counts one delivery per period."""
    days.run(date(2026, 11, 16), date(2026, 11, 18))
    days.switch("weekly@example.org", frequency="daily")
    outcome = days.send(date(2026, 11, 18))  # the same Wednesday, after the switch
    assert outcome.report is not None and outcome.report.sent == 1
    assert days.mails["weekly@example.org"][-1] == (date(2026, 11, 18), {"Item-20261117", "Item-20261118"})
    days.run(date(2026, 11, 19), date(2026, 11, 20))
    once_each(days, "weekly@example.org")
    assert days.periods("weekly@example.org") == [
        "weekly:2026-W47",
        "daily:2026-11-18",
        "daily:2026-11-19",
        "daily:2026-11-20",
    ]


def test_a_week_across_the_october_clock_change(days: Days) -> None:
    """Weeks are counted in London time: the weekly readers get theirs at noon on the Mondays either side of the
    clock change (11:00 UTC before, 12:00 UTC after), one a week, and every item once."""
    days.run(date(2026, 10, 19), date(2026, 11, 2))
    assert days.days_mailed("weekly@example.org") == [date(2026, 10, 19), date(2026, 10, 26), date(2026, 11, 2)]
    assert days.periods("weekly@example.org") == ["weekly:2026-W43", "weekly:2026-W44", "weekly:2026-W45"]
    across = days.mails["weekly@example.org"][1][1]
    assert across == {f"Item-202610{d}" for d in range(20, 27)}  # Tuesday to Monday, the Sunday change inside
    for email in ("daily@example.org", "weekly@example.org", "switcher@example.org"):
        once_each(days, email)
    # The scheduler fires at noon London time every day, weekly readers' days included.
    sunday_evening = datetime(2026, 10, 25, 20, 0, tzinfo=UTC)
    assert schedule.next_send(days.settings, sunday_evening) == datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    friday_evening = datetime(2026, 10, 23, 20, 0, tzinfo=UTC)
    assert schedule.next_send(days.settings, friday_evening) == datetime(2026, 10, 24, 11, 0, tzinfo=UTC)


def test_a_missed_week_is_sent_at_the_next_send_and_nothing_is_lost(days: Days) -> None:
    """The service is down from Saturday to the Monday after next: the weekly reader's Monday passed unsent, so
    their digest goes at the first send back (Tuesday) with everything since their last, then on Mondays again."""
    days.run(date(2026, 11, 16), date(2026, 11, 20))
    days.run(date(2026, 11, 21), date(2026, 11, 30), up=False)  # down: items arrive, nothing is sent
    days.run(date(2026, 12, 1), date(2026, 12, 7))
    assert days.days_mailed("weekly@example.org") == [date(2026, 11, 16), date(2026, 12, 1), date(2026, 12, 7)]
    assert days.mails["weekly@example.org"][1][1] == {f"Item-202611{d}" for d in range(17, 31)} | {"Item-20261201"}
    assert days.periods("weekly@example.org") == ["weekly:2026-W47", "weekly:2026-W49", "weekly:2026-W50"]
    for email in ("daily@example.org", "weekly@example.org", "switcher@example.org"):
        once_each(days, email)


def test_the_weekly_email_has_contents_and_counts_by_kind(days: Days) -> None:
    """A weekly email names the week it covers, counts its items by kind and lists them as contents, within
    the size budget; its footer says what the reader gets and links to their preferences."""
    days.publish(date(2026, 11, 17), kind="inspection", tag="Inspection")
    days.run(date(2026, 11, 17), date(2026, 11, 23))
    (message,) = days.box.to("weekly@example.org")[-1:]
    assert message["Subject"].startswith("Probation Digest weekly, Mon 23 Nov:")
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Tuesday 17 November to Monday 23 November 2026 - 8 new items" in text
    assert "This week: 1 inspection report, 7 posts." in text
    assert "CONTENTS" in text
    assert "You get: everything new, weekly on Mondays." in text
    assert "Change what you get: https://digest.example.org/preferences/" in text
    assert ">Change what you get</a>" in html
    assert len(html.encode()) <= days.settings.max_html_bytes


def test_a_paused_reader_gets_nothing_until_the_pause_ends(days: Days) -> None:
    """Paused from Wednesday to Saturday: no email on those days and the items that came out meanwhile are not
    kept for them; from Saturday on they get each day's items once, as before."""
    days.run(date(2026, 11, 16), date(2026, 11, 17))
    days.switch("switcher@example.org", paused_until=date(2026, 11, 21))
    days.run(date(2026, 11, 18), date(2026, 11, 23))
    assert days.days_mailed("switcher@example.org") == [
        date(2026, 11, 16),
        date(2026, 11, 17),
        date(2026, 11, 21),
        date(2026, 11, 22),
        date(2026, 11, 23),
    ]
    paused = {"Item-20261118", "Item-20261119", "Item-20261120"}
    assert days.received("switcher@example.org") == Counter(t for t in days.published if t not in paused)
    once_each(days, "weekly@example.org")  # the others are not affected


def test_a_reader_who_chose_only_inspections_gets_no_email_on_days_without_one(days: Days) -> None:
    """A reader who chose inspections alone, daily or weekly, gets an email only when there is an inspection for
    them, never one that says "nothing new" on the days everyone else's has items (send_empty is off); the others
    get theirs as before."""
    days.switch("switcher@example.org", kinds=frozenset({"inspection"}))
    days.switch("weekly@example.org", kinds=frozenset({"inspection"}))
    days.run(date(2026, 11, 16), date(2026, 11, 18))  # posts only
    days.publish(date(2026, 11, 19), kind="inspection", tag="Inspection")
    days.run(date(2026, 11, 19), date(2026, 11, 30))  # an inspection on Thursday, then posts only
    assert days.days_mailed("switcher@example.org") == [date(2026, 11, 19)]
    assert days.days_mailed("weekly@example.org") == [date(2026, 11, 23)]  # not the Mondays either side
    for email in ("switcher@example.org", "weekly@example.org"):
        (message,) = days.box.to(email)
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Inspection-20261119" in text and not TOKEN.search(text), email
        assert "nothing new" not in message["Subject"]
    once_each(days, "daily@example.org")
    assert len(days.days_mailed("daily@example.org")) == 15


def test_a_weekly_reader_who_widens_their_choices_mid_week_gets_the_whole_week(days: Days) -> None:
    """Choices are read when the email goes, not when each day's items arrive: a weekly reader of inspections
    alone who widens to everything on Wednesday gets Tuesday's and Wednesday's posts on Monday, and every item
    once; a daily reader of inspections alone who widens gets what comes after, and no email of nothing before."""
    days.switch("weekly@example.org", kinds=frozenset({"inspection"}))
    days.switch("switcher@example.org", kinds=frozenset({"inspection"}))
    days.run(date(2026, 11, 17), date(2026, 11, 18))  # Tuesday and Wednesday: posts only
    days.switch("weekly@example.org", kinds=None)
    days.switch("switcher@example.org", kinds=None)
    days.run(date(2026, 11, 19), date(2026, 11, 23))
    assert days.days_mailed("weekly@example.org") == [date(2026, 11, 23)]
    once_each(days, "weekly@example.org")
    assert days.days_mailed("switcher@example.org") == [date(2026, 11, d) for d in range(19, 24)]
    assert days.received("switcher@example.org") == Counter(f"Item-202611{d}" for d in range(19, 24))
