"""`digest status`, `digest feeds` and `digest feeds check`: feed health and what is waiting."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import click

from .cli_context import Context, pass_ctx, settings_or_default
from .clock import utcnow as now
from .models import Feed
from .plural import plural

if TYPE_CHECKING:
    from .config import Settings


def _ago(when: datetime | None, ref: datetime, settings: Settings) -> str:
    from . import schedule  # imported by the commands that show times, not by --help

    if when is None:
        return "never"
    minutes = int((ref - when).total_seconds() // 60)
    if minutes < 1:
        return "just now"
    if minutes < 120:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return schedule.shown(settings, when)


@click.command()
@pass_ctx
def status(ctx: Context) -> None:
    """Feed health, recent digest runs and what is waiting for the next digest."""
    from . import schedule, tally

    settings = ctx.settings
    t = now()
    with ctx.store() as store:
        health = store.feed_health(settings.feeds)
        broken = [h for h in health if h.last_error or h.disabled]
        read = sum(1 for h in health if h.last_success or h.last_error)
        unread = f", {len(settings.feeds) - read} not yet polled" if read < len(settings.feeds) else ""
        click.echo(
            f"last poll: {_ago(store.last_poll(), t, settings)}; "
            f"feeds: {len(settings.feeds)} ({len(broken)} with errors{unread})"
        )
        for h in broken:
            click.echo(f"  ! {h.name}: {h.disabled or h.last_error} ({plural(h.failures, 'failure')} in a row)")
        w = tally.waiting(settings, store, t)
        click.echo(f"waiting for the next digest: {w.phrase()}; {w.unsummarised} not yet summarised")
        for item, reason in w.left_out:
            click.echo(f"  left out: {item.title} ({item.source}): {reason}")
        today = store.run_status(tally.run_key(settings, tally.digest_day(settings, t)))
        upcoming = schedule.next_send(settings, t, today)
        click.echo(f"next send: {schedule.shown(settings, upcoming)} (now {schedule.shown(settings, t)})")
        runs = store.recent_runs(7)
        click.echo("recent digests:" if runs else "recent digests: none yet")
        for r in runs:
            counts = ", ".join(f"{n} {state}" for state, n in sorted(r.counts.items())) or "no recipients"
            carried = tally.run_tally(settings, store, r)
            label = "empty day, nothing sent" if r.status == "empty" else f"{carried.phrase()}; {counts}"
            click.echo(f"  {r.day}  {r.status:<8} {label}")
            for item, reason in carried.left_out:
                click.echo(f"    left out: {item.title} ({item.source}): {reason}")


@click.group(invoke_without_command=True)
@click.pass_context
def feeds(cctx: click.Context) -> None:
    """List the feeds with their health (see also: feeds check)."""
    if cctx.invoked_subcommand is not None:
        return
    from . import schedule

    ctx: Context = cctx.obj
    t = now()
    with ctx.store() as store:
        store.sync_feeds(ctx.settings.feeds)
        paused = {f.url for f in ctx.settings.feeds if not f.enabled}
        for h in store.feed_health(ctx.settings.feeds):
            state = "DISABLED" if h.disabled or h.url in paused else ("ERROR" if h.last_error else "ok")
            if state == "ok" and h.last_success is None:
                state = "not yet polled"
            next_poll = schedule.shown(ctx.settings, h.next_poll) if h.next_poll else "now"
            click.echo(
                f"{h.name}\n  {h.url}\n  {state}; last success {_ago(h.last_success, t, ctx.settings)}; "
                f"{plural(h.items, 'item')}; next poll {next_poll}"
            )
            if h.last_error:
                click.echo(
                    f"  last error ({h.last_error_kind}): {h.last_error}; {plural(h.failures, 'failure')} in a row"
                )
            if h.disabled or h.url in paused:
                click.echo(f"  disabled: {h.disabled or 'enabled: false in the settings'}")
            if h.moved_to:
                click.echo(f"  moved permanently to {h.moved_to}: update the config")


@feeds.command("check")
@click.argument("url")
@pass_ctx
def feeds_check(ctx: Context, url: str) -> None:
    """Fetch and parse one feed; show what would be imported. Changes nothing."""
    import asyncio

    from .feeds import parse_feed
    from .fetch import Fetcher

    settings = settings_or_default(ctx)

    async def run() -> None:
        async with Fetcher(settings.fetch, contact=settings.public_url) as fetcher:
            r = await fetcher.get(url)
        feed = next((f for f in settings.feeds if f.url == url), Feed(name=url, url=url))
        parsed = parse_feed(r.content, r.headers, feed=feed, url=url, fetched_at=r.fetched_at)
        click.echo(f"{parsed.title} ({parsed.version or 'unknown format'}): {plural(len(parsed.items), 'item')}")
        if r.moved_to:
            click.echo(f"note: moved permanently to {r.moved_to}")
        if parsed.problem:
            click.echo(f"note: the feed is malformed but readable: {parsed.problem}")
        for item in parsed.items:
            click.echo(f"  {item.published:%Y-%m-%d}  {item.title}\n              {item.url}")

    asyncio.run(run())
