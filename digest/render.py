"""Render a digest to HTML (CSS inlined) and plain text. Pure: no I/O beyond reading templates.

The bodies carry three placeholders, the recipient's address, unsubscribe link and preferences link, which
`messages` fills in per subscriber. What goes in the digest (the size budget included) is compose's decision, not
this module's.
"""

from __future__ import annotations

import functools
import textwrap
from dataclasses import dataclass
from pathlib import Path

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .compose import counts_phrase
from .models import Digest, Entry
from .plural import plural
from .preferences import FOLLOWED

RECIPIENT = "__DIGEST_RECIPIENT__"
UNSUBSCRIBE = "__DIGEST_UNSUBSCRIBE_URL__"
PREFERENCES = "__DIGEST_PREFERENCES_URL__"
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True, minify_css=True)


def templates_dir(override: Path | None = None) -> Path:
    """Templates: the configured folder, else the copy in the wheel, else the source checkout's."""
    if override is not None:
        return override
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).parent.parent / "templates"


@functools.lru_cache(maxsize=8)
def shared_environment(override: Path | None = None) -> Environment:
    """The renderers' environment, one per templates folder: it compiles a template once and keeps it (checking
    the file's time, so an edited template is read again); a new one per send compiled the digest's templates
    again, a tenth of a second in every run. Not to be changed: a caller that adds filters makes its own."""
    return environment(override)


def environment(override: Path | None = None) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir(override))),
        autoescape=select_autoescape(["html", "html.j2", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    env.globals["wrap"] = _wrap
    env.filters["plural"] = lambda n, one, many=None: plural(n, one, many)  # {{ n|plural("item") }}
    return env


def _wrap(text: str, indent: str = "", first: str = "") -> str:
    return textwrap.fill(
        str(text),
        width=72,
        initial_indent=first,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


@dataclass(frozen=True)
class Rendered:
    digest: Digest
    html: str  # inlined, with RECIPIENT and UNSUBSCRIBE placeholders
    text: str


class Renderer:
    def __init__(
        self,
        *,
        public_url: str,
        contact: str = "",
        templates: Path | None = None,
        send_time: str = "12:00 UK time",
        sources: str = FOLLOWED,
    ) -> None:
        self.env = shared_environment(templates)
        self.public_url = public_url.rstrip("/")
        self.contact = contact
        self.send_time = send_time  # as readers read it (preferences.send_time_phrase)
        self.sources = sources  # the feeds the list follows, by name (preferences.followed)

    def web_url(self, digest: Digest) -> str:
        """The digest's page: the day's, or a weekly email's (the days it covers, which a reader back from a missed
        week or new to weekly has more or fewer of than the usual seven)."""
        if digest.weekly:
            return f"{self.public_url}/digests/week/{digest.day.isoformat()}?since={(digest.since or digest.day)}"
        return f"{self.public_url}/digests/{digest.day.isoformat()}"

    def item_url(self, entry: Entry) -> str:
        """An item's page in the archive, where the site has a public address; else the item itself."""
        return f"{self.public_url}/items/{entry.item_id}" if self.public_url and entry.item_id else entry.url

    def render(
        self, digest: Digest, *, test: bool = False, inline: bool = True, you_get: str = "", web: bool = False
    ) -> Rendered:
        """The digest as an email; with `web`, as its web version (a page: no "view in your browser", no
        unsubscribe footer, a link to subscribe instead). `you_get`: what the reader gets, for the footer
        ("inspections from London, weekly on Mondays")."""
        context = {
            "web": web,
            "subscribe_url": f"{self.public_url}/subscribe",
            "site_url": self.public_url,
            "preferences_page_url": f"{self.public_url}/preferences",
            "digest": digest,
            "date_long": digest.day.strftime("%A %-d %B %Y"),
            "since_long": digest.since.strftime("%A %-d %B") if digest.since else "",
            "counts": counts_phrase(digest.entries),
            "covering": bool(digest.since or digest.weekly),  # several days: contents, counts
            "has_web": not digest.since or digest.weekly,  # a catch-up ("since your last email") has no web version
            "web_url": self.web_url(digest),
            "unsubscribe_url": UNSUBSCRIBE,
            "preferences_url": PREFERENCES,
            "you_get": you_get,
            "recipient": RECIPIENT,
            "contact": self.contact,
            "send_time": self.send_time,
            "sources": self.sources,
            "test": test,
            "preheader": "; ".join(e.title for e in digest.entries[:3]),
            "item_url": self.item_url,
        }
        html = self.env.get_template("digest.html.j2").render(context)
        if inline:
            html = _INLINER.inline(html)
        text = self.env.get_template("digest.txt.j2").render(context)
        text = "\n".join(line.rstrip() for line in text.splitlines())
        while "\n\n\n\n" in text:
            text = text.replace("\n\n\n\n", "\n\n\n")
        return Rendered(digest=digest, html=html, text=text.strip() + "\n")
