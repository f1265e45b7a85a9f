"""Data that crosses module boundaries: frozen dataclasses, nothing with behaviour or I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

# Two vocabularies, kept apart: what a publication is, and what sort of source a feed is.
Kind = Literal["inspection", "thematic", "research", "news", "blog", "other"]  # a publication's kind
KINDS: tuple[Kind, ...] = ("inspection", "thematic", "research", "news", "blog", "other")
SourceType = Literal["inspectorate", "govuk", "news", "blog"]  # a feed's source type
SOURCE_TYPES: tuple[SourceType, ...] = ("inspectorate", "govuk", "news", "blog")
Frequency = Literal["daily", "weekly"]  # how often a reader gets the digest
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")  # date.weekday() order
# A reader's region choices beyond the regions themselves: national bodies and items about no one place, and
# youth justice services wherever they are.
NATIONAL = "national"
YOUTH_JUSTICE = "youth justice"
RATINGS = ("Outstanding", "Good", "Requires improvement", "Inadequate")
DeliveryState = Literal["pending", "sending", "sent", "failed", "suppressed"]  # a ledger row's state
RunStatus = Literal["empty", "sending", "done"]  # a digest run's status
# Why a fetch failed (FetchError.kind), and why a feed's poll failed (the fetch's reasons, or its parse).
FetchErrorKind = Literal[
    "timeout",
    "connect",
    "dns",
    "http",
    "gone",
    "too-large",
    "redirect-loop",
    "too-many-redirects",
    "decode",
    "network",
    "unsafe",
    "local",  # this machine could not make the request (its certificates cannot be read): not the feed's fault
]
FeedErrorKind = FetchErrorKind | Literal["parse", "internal"]
PollStatus = Literal["new", "not-modified", "error", "skipped", "disabled"]  # what one feed's poll did
HealthStatus = Literal["ok", "overdue", "failing"]  # what /health says


@dataclass(frozen=True)
class Feed:
    """A feed the digest follows, as configured."""

    name: str
    url: str
    source_type: SourceType | None = None  # what sort of source: a hint for relevance and kinds
    filter: bool = True  # keep only items about probation
    enabled: bool = True  # false: paused by the editor, not polled
    backfill_hours: float | None = None  # override of the global first-run window


@dataclass(frozen=True)
class Response:
    """What the fetcher got back for one URL: the bytes and the headers that matter."""

    url: str  # the URL finally answered, after redirects
    status: int
    headers: dict[str, str]
    content: bytes
    fetched_at: datetime
    moved_to: str | None = None  # set when a permanent redirect (301/308) says the resource moved

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Item:
    """One feed entry, normalised."""

    feed_url: str
    source: str  # the feed's display name
    guid: str
    url: str
    canonical_url: str
    title: str
    published: datetime  # UTC
    content_html: str  # sanitised
    summary_html: str  # sanitised
    content_hash: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    links: tuple[str, ...] = ()  # absolute links found in the content, in order
    id: int | None = None
    source_type: SourceType | None = None
    filter: bool = True


@dataclass(frozen=True)
class Document:
    """The readable text of a page, PDF or feed entry. Paragraphs are separated by blank lines."""

    url: str
    title: str
    text: str
    format: Literal["html", "pdf", "text", "feed"]
    published: date | None = None
    scanned: bool = False  # a PDF with no usable text layer: never summarised
    pages: int = 0
    report_url: str | None = None  # an HTML report page this document points to
    pdf_url: str | None = None  # a PDF report this document points to


@dataclass(frozen=True)
class Hints:
    """What the feed knows about an item, which beats guessing from its text (`summarise` takes it)."""

    title: str = ""
    published: date | None = None
    categories: tuple[str, ...] = ()
    source_type: SourceType | None = None
    filtered: bool = True


@dataclass(frozen=True)
class Recommendation:
    text: str
    owner: str | None = None  # whom the recommendation is for, e.g. "The CRC should"


@dataclass(frozen=True)
class Summary:
    """What a reader needs to know about one publication. Its JSON (stored, and the stable `--json` contract)
    is written and read in one place: `store.summary_json` and `store.summary_from_json`."""

    title: str
    kind: Kind
    about_probation: bool
    summary: str
    organisation: str | None = None
    unit: str | None = None  # what was inspected: a probation delivery unit, a CRC, a youth justice service, …
    rating: str | None = None
    rating_note: str | None = None  # e.g. why there is no rating
    standard_ratings: tuple[tuple[str, str], ...] = ()
    published: date | None = None
    chief_inspector: str | None = None
    chief_inspector_quote: str | None = None
    key_findings: tuple[str, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()
    facts: tuple[str, ...] = ()  # context a reader wants: who owns the CRC, the NPS division, caseload size
    scanned: bool = False


@dataclass(frozen=True)
class Link:
    title: str
    url: str
    source: str


_NEWS_URL = re.compile(r"/(?:news|media|press-releases?|blog)/|press-release", re.I)
_REPORT_URL = re.compile(r"/(?:document|inspections?|publications?|research|thematic-inspections?)/|\.pdf\b", re.I)


@dataclass(frozen=True)
class Entry:
    """One publication in the digest: an item, what it says, and who else discussed it."""

    item_id: int
    title: str
    url: str
    source: str
    published: datetime
    summary: Summary
    report_url: str | None = None
    pdf_url: str | None = None
    also: tuple[Link, ...] = ()
    anchor: str = ""
    region: str | None = None  # the probation region of the body an inspection is about, or "national"
    youth_justice: bool = False  # an inspection of a youth justice service
    previously: str | None = None  # an earlier inspection of the same body: "Good (December 2022)"

    @property
    def link_label(self) -> str:
        """What the item's own link opens, said as the link's words: a news release is never "the report"."""
        if self.summary.kind not in ("inspection", "thematic"):
            return "Read more"
        if self.report_url or self.pdf_url or _NEWS_URL.search(self.url):
            return "News release"
        return "Read the report" if _REPORT_URL.search(self.url) else "Read it"


@dataclass(frozen=True)
class Section:
    key: str  # inspections, thematic, news
    title: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Bar:
    """One rating's bar in the "ratings this year" chart."""

    rating: str
    count: int
    percent: int  # of the longest bar, for its width (at least 1 where the count is not 0)


@dataclass(frozen=True)
class Chart:
    """How many inspections published in a year got each overall rating (`tracker.chart`)."""

    year: int
    bars: tuple[Bar, ...]
    unrated: int
    this_year: bool = True  # `year` is the current one (the email's chart always is; /ratings?year=2017 is not)

    @property
    def caption(self) -> str:
        if self.this_year:
            return f"Ratings this year: inspections published in {self.year}"
        return f"Ratings in {self.year}"

    @property
    def total(self) -> int:
        return sum(b.count for b in self.bars) + self.unrated

    @property
    def text(self) -> str:
        """The chart in words, for screen readers and the plain-text email."""
        if not self.total:
            return f"No inspection published in {self.year} is in the archive yet."
        counts = ", ".join(f"{b.rating} {b.count}" for b in self.bars)
        unrated = f"; {self.unrated} without an overall rating" if self.unrated else ""
        return f"Inspections published in {self.year}: {counts}{unrated}."


@dataclass(frozen=True)
class Digest:
    """A day's digest, composed and ready to render."""

    list_name: str
    day: date
    subject: str
    sections: tuple[Section, ...]
    overflow: tuple[Entry, ...] = ()  # listed as headlines only, past the size budget
    item_ids: tuple[int, ...] = ()
    considered: tuple[int, ...] = ()  # every item looked at, relevant or not
    since: date | None = None  # the first day it covers, when it covers more than `day` (a weekly, a catch-up)
    weekly: bool = False
    chart: Chart | None = None  # ratings this year, on a day with an inspection

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(e for s in self.sections for e in s.entries) + self.overflow

    @property
    def count(self) -> int:
        return len(self.entries)


@dataclass(frozen=True, slots=True)  # one per subscriber, 50,000 at a time: no __dict__ each
class Subscriber:
    email: str
    name: str | None = None
    kinds: frozenset[str] | None = None  # None: every kind
    sources: frozenset[str] | None = None  # None: every source
    regions: frozenset[str] | None = None  # None: everywhere; else regions, NATIONAL and/or YOUTH_JUSTICE
    frequency: Frequency = "daily"
    weekday: int = 0  # the day a weekly reader gets it (0 is Monday)
    paused_until: date | None = None  # nothing is sent before this day (and nothing kept for them meanwhile)

    @property
    def narrowed(self) -> bool:
        """Whether they want less than everything."""
        return self.kinds is not None or self.sources is not None or self.regions is not None

    def wants(self, entry: Entry) -> bool:
        """An entry passes a region choice when its region is chosen; an entry with no region (a thematic, a
        post) or a national body's passes only with NATIONAL; a youth justice inspection passes with YOUTH_JUSTICE
        too, wherever it is."""
        if self.kinds is not None and entry.summary.kind not in self.kinds:
            return False
        if self.sources is not None and entry.source not in self.sources:
            return False
        if self.regions is None or (entry.youth_justice and YOUTH_JUSTICE in self.regions):
            return True
        return (entry.region or NATIONAL) in self.regions


@dataclass(frozen=True)
class Message:
    """One rendered email, ready for a Sender."""

    to: str
    sender: str
    message_id: str
    data: bytes


@dataclass(frozen=True, slots=True)  # one per recipient in a send: no __dict__ each
class Delivery:
    run_key: str
    email: str
    state: DeliveryState
    message_id: str
    attempts: int = 0
    reply: str = ""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class FeedHealth:
    url: str
    name: str
    last_success: datetime | None
    last_error: str | None
    last_error_kind: FeedErrorKind | None
    failures: int
    next_poll: datetime | None
    disabled: str | None
    moved_to: str | None = None
    items: int = 0


@dataclass(frozen=True)
class FeedState:
    """A feed's HTTP and polling state, as the store keeps it."""

    url: str
    name: str
    etag: str | None
    last_modified: str | None
    first_polled: datetime | None
    failures: int
    next_poll: datetime | None
    disabled: str | None
    moved_to: str | None


@dataclass(frozen=True)
class Run:
    """A digest run as recorded: what it carries and the bodies kept for the web version."""

    key: str
    day: date
    created_at: datetime
    subject: str
    status: RunStatus
    item_ids: tuple[int, ...]
    html: str
    text: str


@dataclass(frozen=True)
class RunInfo:
    key: str
    day: date
    subject: str
    created_at: datetime
    status: RunStatus
    items: int
    counts: dict[str, int] = field(default_factory=dict)
    finished_at: datetime | None = None  # when its last delivery was recorded (None while it sends)
