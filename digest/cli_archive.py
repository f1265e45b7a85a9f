"""`digest ratings` (the ratings tracker as a table or CSV) and `digest backfill` (a feed's older pages)."""

from __future__ import annotations

from collections.abc import Callable

import click

from .cli_context import Context, pass_ctx
from .clock import utcnow as now
from .plural import plural

_SORTS = ("date", "organisation", "rating", "region", "type")  # tracker.SORTS, without importing it for --help
_COLUMNS = ("organisation", "type", "region", "published", "rating", "standards", "url")


def _known(what: str) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    """A filter's check: a value that is none of the known ones is a usage error (exit 2) listing them, not an
    empty table. The lists are imported when a value is given, so `--help` stays fast."""

    def check(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is None:
            return None
        from . import tracker
        from .models import RATINGS
        from .regions import NATIONAL, REGIONS

        known = {
            "region": (*REGIONS, NATIONAL),
            "rating": (*RATINGS, tracker.NO_RATING),
            "type": tracker.TYPES,
        }[what]
        if what == "rating" and value.strip().lower() == "none":
            return tracker.NO_RATING  # as the table shows it
        for choice in known:  # as typed, or in another case
            if value.strip().lower() == choice.lower():
                return choice
        raise click.BadParameter(f"{value!r} is not one of: {', '.join(map(repr, known))}.")

    return check


@click.command()
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row, for a spreadsheet.")
@click.option("--region", callback=_known("region"), help="Only this probation region (or national).")
@click.option("--rating", callback=_known("rating"), help='Only this overall rating ("No overall rating" for none).')
@click.option(
    "--type",
    "type_",
    metavar="TYPE",
    callback=_known("type"),
    help="Only this type: PDU, youth justice, CRC, regional, national, …",
)
@click.option("--year", type=int, help="Only inspections published this year.")
@click.option("--sort", type=click.Choice(_SORTS), default="date", show_default=True, help="Sort by this column.")
@pass_ctx
def ratings(
    ctx: Context,
    as_csv: bool,
    region: str | None,
    rating: str | None,
    type_: str | None,
    year: int | None,
    sort: str,
) -> None:
    """Every inspection in the store with its type, region, date and ratings (newest first)."""
    from . import tracker

    settings = ctx.settings
    with ctx.store() as store:
        history = tracker.inspections(store.inspection_rows())
    rows = tracker.select(
        history, region=region, rating=rating, type=type_, year=year, sort=sort, descending=sort == "date"
    )
    if as_csv:
        import csv
        import sys

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(_COLUMNS)
        for i in rows:
            standards = "; ".join(f"{n}: {r}" for n, r in i.standards)
            cells = [i.organisation, i.type, i.region or "", i.published.isoformat(), i.rating or "", standards, i.url]
            writer.writerow([_cell(c) for c in cells])
        return
    if not history:
        click.echo("no inspections in the store yet (`digest poll` reads new ones; `digest backfill` older ones)")
        return
    table = [("Organisation", "Type", "Region", "Published", "Rating")] + [
        (i.organisation, i.type, i.region or "unknown", i.published.isoformat(), i.rating or "none") for i in rows
    ]
    widths = [min(44, max(len(r[c]) for r in table)) for c in range(5)]
    for n, r in enumerate(table):
        click.echo("  ".join(_cut(cell, w).ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
        if n == 0:
            click.echo("  ".join("-" * w for w in widths))
    # The year asked for, else this year, else (none yet this year) the latest year the store has.
    this_year = now().astimezone(settings.timezone).year
    years = [year] if year else [this_year] if any(i.published.year == this_year for i in history) else []
    chart = tracker.chart(history, (years or [max(i.published.year for i in history)])[0])
    click.echo(f"\n{len(rows)} of {plural(len(history), 'inspection')}. {chart.text}")


def _cell(text: str) -> str:
    """A cell a spreadsheet shows as text: names come from feeds, and one starting "=" would be run as a formula."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@click.command()
@click.argument("feed", metavar="FEED")
@click.option("--pages", type=click.IntRange(1, 500), default=10, show_default=True, help="How many pages to read.")
@pass_ctx
def backfill(ctx: Context, feed: str, pages: int) -> None:
    """Import a feed's older pages (WordPress ?paged=N): recorded as seen, never sent, but read and summarised so
    the archive and the ratings tracker have them. FEED is a configured feed's name or URL."""
    import asyncio

    from .backfill import PageResult, find_feed
    from .backfill import backfill as run_backfill
    from .fetch import Fetcher

    settings = ctx.settings
    target = find_feed(settings, feed)

    def report(page: PageResult) -> None:
        click.echo(f"page {page.number}: {plural(page.items, 'item')}, {page.added} new ({page.url})")

    async def run() -> None:
        with ctx.store() as store:
            async with Fetcher(settings.fetch, contact=settings.public_url) as fetcher:
                result = await run_backfill(settings, store, fetcher, target, pages=pages, clock=now, progress=report)
        added = sum(p.added for p in result.pages)
        click.echo(
            f"stopped: {result.stopped}; {plural(added, 'item')} added as already seen (not sent); "
            f"{result.summarised} read and summarised"
        )

    asyncio.run(run())
