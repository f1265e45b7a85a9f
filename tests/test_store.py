"""The store's kept counts: the ledger's counts by state and each feed's item count, kept by triggers as rows
change, always equal to counting the rows again."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.models import Feed, Item
from digest.store import Store

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _recount(store: Store, key: str) -> dict[str, int]:
    rows = store.db.execute("SELECT state, count(*) FROM deliveries WHERE run_key=? GROUP BY state", (key,))
    return {r[0]: r[1] for r in rows}


def test_delivery_counts_follow_every_change_to_the_ledger(tmp_path: Path) -> None:
    """Recorded, marked sent or failed, reset, suppressed, added late and rebuilt: the kept counts always equal
    a recount of the ledger, and a rebuilt run starts from its new recipients."""
    with Store(tmp_path / "d.sqlite3") as store:
        key = "digest:2026-11-24"
        store.suppress("c@example.org", "unsubscribed", now=NOW)
        recipients = [(f"{x}@example.org", None, f"<{x}@id>") for x in "abcde"]
        store.create_run(
            key, day=NOW.date(), now=NOW, subject="S", item_ids=[], html="", text="", recipients=recipients
        )
        assert store.delivery_counts(key) == _recount(store, key) == {"pending": 4, "suppressed": 1}
        store.mark(key, "a@example.org", "sending", now=NOW)
        store.mark(key, "a@example.org", "sent", now=NOW, attempt=True)
        store.mark(key, "b@example.org", "failed", now=NOW, attempt=True)
        assert (
            store.delivery_counts(key)
            == _recount(store, key)
            == {"failed": 1, "pending": 2, "sent": 1, "suppressed": 1}
        )
        assert store.reset_failed(key, now=NOW) == 1
        assert store.add_recipient(key, "f@example.org", None, "<f@id>", now=NOW)
        assert store.delivery_counts(key) == _recount(store, key) == {"pending": 4, "sent": 1, "suppressed": 1}
        store.create_run(
            key, day=NOW.date(), now=NOW, subject="S", item_ids=[], html="", text="", recipients=recipients[:2]
        )
        assert store.delivery_counts(key) == _recount(store, key) == {"pending": 2}
        assert store.delivery_counts("other:2026-11-24") == {}


def test_each_feeds_item_count_is_kept_as_items_arrive(tmp_path: Path) -> None:
    """The feeds' health shows as many items per feed as the items table holds, after new items, repeats and
    duplicates from another feed."""
    feeds = [Feed(name="A", url="https://a.example.org/feed"), Feed(name="B", url="https://b.example.org/feed")]

    def item(feed: Feed, n: int) -> Item:
        url = f"https://news.example.org/{n}"
        return Item(
            guid=f"{feed.url}#{n}",
            url=url,
            canonical_url=url,
            title=f"Item {n}",
            published=NOW - timedelta(hours=n),
            feed_url=feed.url,
            source=feed.name,
            content_html="",
            summary_html="",
            content_hash=f"hash{n}",
        )

    with Store(tmp_path / "d.sqlite3") as store:
        store.sync_feeds(feeds)
        store.add_items(feeds[0].url, [item(feeds[0], n) for n in range(5)], now=NOW, backfill_since=None)
        store.add_items(feeds[0].url, [item(feeds[0], n) for n in range(7)], now=NOW, backfill_since=None)
        store.add_items(feeds[1].url, [item(feeds[1], n) for n in range(3)], now=NOW, backfill_since=None)
        counted = {h.name: h.items for h in store.feed_health()}
        recount = dict(
            store.db.execute(
                "SELECT f.name, count(i.id) FROM feeds f LEFT JOIN items i ON i.feed_id=f.id GROUP BY f.id"
            )
        )
        assert counted == recount == {"A": 7, "B": 3}


def _copy(feed: Feed, guid: str, url: str, digest: str, title: str = "") -> Item:
    """An item of `feed` with the given guid, address and content hash: the three things duplicates are told by."""
    return Item(
        guid=guid,
        url=url,
        canonical_url=url,
        title=title or guid,
        published=NOW,
        feed_url=feed.url,
        source=feed.name,
        content_html="",
        summary_html="",
        content_hash=digest,
    )


def test_an_item_already_seen_is_a_duplicate_however_it_arrives(tmp_path: Path) -> None:
    """An item whose address or text is already held, from another feed, from earlier in the same poll, or under
    a second guid, is recorded as a duplicate of the first copy, and only the first is new; a guid repeated within
    a feed is one item."""
    feeds = [Feed(name="A", url="https://a.example.org/feed"), Feed(name="B", url="https://b.example.org/feed")]

    def item(feed: Feed, guid: str, url: str, digest: str) -> Item:
        return _copy(feed, f"{feed.url}#{guid}", url, digest, title=guid)

    with Store(tmp_path / "d.sqlite3") as store:
        store.sync_feeds(feeds)
        first = store.add_items(
            feeds[0].url, [item(feeds[0], "one", "https://x.org/1", "h1")], now=NOW, backfill_since=None
        )
        batch = [
            item(feeds[1], "same-address", "https://x.org/1", "h9"),  # held already, by address
            item(feeds[1], "same-text", "https://x.org/2", "h1"),  # held already, by text
            item(feeds[1], "new", "https://x.org/3", "h3"),
            item(feeds[1], "new-again", "https://x.org/3", "h4"),  # the one just before, under another guid
            item(feeds[1], "new", "https://x.org/5", "h5"),  # a guid repeated: the same item
        ]
        new = store.add_items(feeds[1].url, batch, now=NOW, backfill_since=None)
        assert [i.title for i in new] == ["new"]
        rows = {
            title: (state, dup)
            for title, state, dup in store.db.execute("SELECT title, state, duplicate_of FROM items ORDER BY id")
        }
    assert rows == {
        "one": ("new", None),
        "same-address": ("duplicate", first[0].id),
        "same-text": ("duplicate", first[0].id),
        "new": ("new", None),
        "new-again": ("duplicate", new[0].id),
    }


def test_a_duplicate_names_the_earliest_copy_in_a_long_poll(tmp_path: Path) -> None:
    """Over 200 new items are checked in parts: a copy found by its text in one part and by its address in
    another still names the earliest copy held, not a later copy that is itself a duplicate (found by review)."""
    feed = Feed(name="A", url="https://a.example.org/feed")

    def item(n: int, url: str, digest: str) -> Item:
        return _copy(feed, f"g{n}", url, digest)

    with Store(tmp_path / "d.sqlite3") as store:
        store.sync_feeds([feed])
        first = store.add_items(feed.url, [item(0, "https://x.org/u", "h0")], now=NOW, backfill_since=None)
        store.add_items(feed.url, [item(1, "https://x.org/u", "h2")], now=NOW, backfill_since=None)  # a copy
        fillers = [item(n, f"https://x.org/f{n}", f"f{n}") for n in range(10, 209)]
        batch = [*fillers, item(300, "https://x.org/v", "h2"), item(301, "https://x.org/u", "h3")]
        store.add_items(feed.url, batch, now=NOW, backfill_since=None)
        dup = store.db.execute("SELECT duplicate_of FROM items WHERE guid='g301'").fetchone()[0]
    assert dup == first[0].id


NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def _ledger(path: Path, emails: list[str]) -> Store:
    """A store holding run "r" with a pending delivery to each address."""
    store = Store(path)
    recipients = [(e, None, f"<{i}@x>") for i, e in enumerate(emails)]
    store.create_run("r", day=NOW.date(), now=NOW, subject="s", item_ids=[], html="", text="", recipients=recipients)
    return store


def test_the_write_ahead_log_stays_small_while_a_send_writes_the_ledger(tmp_path: Path) -> None:
    """A send marks each recipient twice, from two threads, while a checkpoint runs aside: the database's log
    file stays the size of a moment's writes instead of growing with every recipient (it grew by 34 KB a
    recipient, 1.7 GB on disk for a 50,000-address list), and every mark is kept."""
    import threading

    emails = [f"reader{i:05d}@example.org" for i in range(6_000)]
    with _ledger(tmp_path / "d.sqlite3", emails) as store:
        lock = threading.Lock()

        def send(share: list[str]) -> None:
            for email in share:
                with lock:
                    store.mark("r", email, "sending", now=NOW, attempt=True)
                with lock:
                    store.mark("r", email, "sent", now=NOW, reply="250 ok")

        with store.checkpoints_aside(every=0.05):
            threads = [threading.Thread(target=send, args=(emails[k::2],)) for k in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        wal = (tmp_path / "d.sqlite3-wal").stat().st_size
        assert store.delivery_counts("r") == {"sent": len(emails)}
    assert wal < 80_000_000, f"the log grew to {wal / 1e6:.0f} MB"  # unchecked, about 200 MB


def test_a_log_grown_while_a_reader_held_it_is_cut_back_afterwards(tmp_path: Path) -> None:
    """A reader holding the database through a send keeps the log from restarting, so it grows; once the reader
    is done, the next restart cuts the file back to 16 MB rather than keeping its peak on disk."""
    import sqlite3

    from digest.store_schema import JOURNAL_LIMIT

    emails = [f"reader{i:05d}@example.org" for i in range(6_000)]
    with _ledger(tmp_path / "d.sqlite3", emails) as store:
        reader = sqlite3.connect(tmp_path / "d.sqlite3")
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM deliveries").fetchone()  # a snapshot held through the send
        with store.checkpoints_aside(every=0.05):
            for email in emails:
                store.mark("r", email, "sent", now=NOW)
        grown = (tmp_path / "d.sqlite3-wal").stat().st_size
        reader.rollback()
        reader.close()
        with store.checkpoints_aside(every=0.05):
            for email in emails[:300]:
                store.mark("r", email, "failed", now=NOW)
                time.sleep(0.001)
        after = (tmp_path / "d.sqlite3-wal").stat().st_size
    assert grown > JOURNAL_LIMIT and after <= JOURNAL_LIMIT, (grown, after)


def test_only_a_damaged_database_is_called_damaged(tmp_path: Path) -> None:
    """A file that is not a database is named with what to do (restore it, or move it aside); a locked, read-only
    or full one is only named: moving it aside would lose the delivery ledger, and the next send would go to
    everyone again."""
    import sqlite3

    from digest.errors import StoreError
    from digest.store_schema import unusable

    damaged = tmp_path / "d.sqlite3"
    damaged.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(StoreError) as err:
        Store(damaged)
    assert "file is not a database" in str(err.value) and "move it aside" in str(err.value)
    for message, code in (("database is locked", sqlite3.SQLITE_BUSY), ("database or disk is full", 13)):
        exc = sqlite3.OperationalError(message)
        exc.sqlite_errorcode = code  # type: ignore[attr-defined]
        said = str(unusable("d.sqlite3", exc))
        assert said == f"d.sqlite3: cannot use the database: {message}", said
