"""The command line: `digest COMMAND`. The edge that reads the clock, builds settings once and turns
DigestError into a message and an exit code (1: failed, 2: bad configuration or input, 3: locked).
"""

from __future__ import annotations

import atexit
import functools
import gc
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .cli_archive import backfill, ratings
from .cli_bounces import bounces
from .cli_context import Context, fail, pass_ctx, settings_or_default
from .cli_feeds import feeds, status
from .cli_subscribers import subscribers
from .clock import utcnow as now
from .errors import ConfigError, DigestError, InputError, LockedError
from .models import SOURCE_TYPES, SourceType
from .plural import plural

# Each command imports what it needs when it runs: `digest --help` and a poll stay fast (trafilatura, lxml, pypdf
# and the daily run cost half a second to import), and pool workers, which import this module, stay light.
if TYPE_CHECKING:
    from .config import Settings
    from .ledger import Stop
    from .store import Store


@contextmanager
def _stop_on_signals(stop: Stop) -> Iterator[None]:
    """SIGTERM or Ctrl-C during a send: finish the messages in flight, record them, then stop."""

    def handler(signum: int, frame: object) -> None:
        click.echo("stopping after the messages in flight; run `digest send` again to continue", err=True)
        stop.request(f"{signal.Signals(signum).name} received")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _Bar:
    """A progress bar's tick (call it) and a way to print a line above it (`say`); both do nothing special when
    there is no bar."""

    def __init__(self, bar: Any = None) -> None:
        self._bar = bar

    def __call__(self) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def say(self, line: str) -> None:
        if self._bar is None:
            click.echo(line)
            return
        click.echo("\r\x1b[2K", file=sys.stderr, nl=False)  # the bar's line cleared; the next tick draws it again
        click.echo(line)


@contextmanager
def _progress(label: str, total: int | None = None) -> Iterator[_Bar]:
    """A progress bar on a terminal; nothing when output is piped or logged."""
    if not sys.stderr.isatty() or not total:
        yield _Bar()
        return
    # click's bar, not rich's: with rich installed, `import httpx` loads its own command line (rich and pygments),
    # a tenth of every poll's start-up.
    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True) as bar:
        yield _Bar(bar)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", metavar="PATH", help="Settings file (default: $DIGEST_CONFIG or ./digest.yml).")
@click.version_option(__version__, prog_name="digest")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Probation Digest: one email a day with everything new from the probation sector, summarised."""
    ctx.obj = Context(config)


# ---- poll


async def _poll_and_process(settings: Settings, store: Store, *, force: bool, read: bool) -> None:
    from . import pipeline
    from .fetch import Fetcher
    from .workers import WorkerPool

    with WorkerPool(workers=2) as pool:
        async with Fetcher(settings.fetch, contact=settings.public_url) as fetcher:
            with _progress("polling feeds", len(settings.feeds)) as tick:

                def report(r: pipeline.PollResult) -> None:
                    detail = {
                        "new": f"{r.new} new of {r.seen}",
                        "not-modified": "not modified",
                        "skipped": "not due yet",
                        "disabled": f"disabled: {r.error}",
                        "error": f"ERROR {r.error}",
                    }[r.status]
                    moved = f" (moved permanently to {r.moved_to}; update the config)" if r.moved_to else ""
                    tick.say(f"poll {r.feed.name}: {detail}{moved}")
                    tick()  # after the line: the bar is drawn again below it

                await pipeline.poll(settings, store, fetcher, clock=now, runner=pool, force=force, progress=report)
            if not read:
                return
            todo = [i.id for i in store.unsummarised_items() if i.id is not None]
            with _progress("reading and summarising", len(todo)) as tick:
                await pipeline.process(settings, store, fetcher, clock=now, runner=pool, progress=lambda _item: tick())
            summarised = store.summarised_items(todo)
            left_out = sum(1 for _, s, _ in summarised if not s.about_probation)
            click.echo(
                f"summarised {len(summarised)} new feed item{'s' if len(summarised) != 1 else ''}: "
                f"{len(summarised) - left_out} about probation, {left_out} left out as not about probation"
                + (" (see `digest status`)" if left_out else "")
            )


@cli.command()
@click.option("--all", "force", is_flag=True, help="Poll every feed now, even those not due yet.")
@click.option("--no-read", is_flag=True, help="Only poll; read and summarise new items on the next run.")
@pass_ctx
def poll(ctx: Context, force: bool, no_read: bool) -> None:
    """Poll the feeds, then read and summarise new items."""
    import asyncio

    from . import tls

    tls.prepare()  # read while the settings are read and the store opened

    with ctx.store() as store:
        asyncio.run(_poll_and_process(ctx.settings, store, force=force, read=not no_read))


# ---- preview and send


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE (default: stdout).")
@click.option("--text", is_flag=True, help="The plain-text part instead of the HTML.")
@click.option("--open", "open_", is_flag=True, help="Open the preview in a browser.")
@click.option("--subscriber", metavar="EMAIL", help="As this subscriber would get it (their preferences).")
@pass_ctx
def preview(ctx: Context, out: Path | None, text: bool, open_: bool, subscriber: str | None) -> None:
    """Render today's digest exactly as it would be sent (with --subscriber: their next email, and when it goes)."""
    from . import daily, next_email
    from .subscribers import load as load_subscribers

    sub = None
    if subscriber:
        sub = load_subscribers(ctx.settings.subscribers_file).find(subscriber)
        if sub is None:
            fail(f"{subscriber} is not in {ctx.settings.subscribers_file}", 2)
    with ctx.store() as store:
        if sub is None:
            digest, html, plain = daily.preview(ctx.settings, store, now=now())
        else:
            nxt, digest, html, plain = next_email.preview(ctx.settings, store, sub, now=now())
            click.echo(f"{sub.email}: {nxt.why}", err=True)
    body = plain if text else html
    if out is None and not open_:
        click.echo(body, nl=False)
        return
    target = out or Path(ctx.settings.outbox_dir) / ("preview.txt" if text else "preview.html")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(body, encoding="utf-8")
    click.echo(f"{digest.subject}\npreview: {target}", err=out is None)
    if open_:
        import webbrowser

        webbrowser.open(target.resolve().as_uri())


@cli.command()
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send nothing, record nothing.")
@click.option("--to", metavar="EMAIL", help="Send a test copy to EMAIL only; the ledger is untouched.")
@click.option("--force", is_flag=True, help="Start a new run for a day already sent (everyone gets it again).")
@click.option("--resend-failed", is_flag=True, help="Retry only the deliveries that failed today.")
@pass_ctx
def send(ctx: Context, dry_run: bool, to: str | None, force: bool, resend_failed: bool) -> None:
    """Send today's digest to every subscriber not yet sent it."""
    from . import daily, readiness
    from .deliver import make_sender
    from .ledger import Stop
    from .subscribers import load_for_send, normalise_email, unknown_sources

    if force and resend_failed:
        raise click.UsageError("--force sends to everyone again and --resend-failed only to failures: choose one")
    if to and (dry_run or force or resend_failed):
        used = next(
            flag for flag, on in (("--dry-run", dry_run), ("--force", force), ("--resend-failed", resend_failed)) if on
        )
        raise click.UsageError(f"--to sends one test copy and never touches the ledger: it cannot go with {used}")
    settings = ctx.settings
    if not to:
        # A reader's misspelt source is their loss alone: named here, and everyone (them included) is sent to.
        for problem in unknown_sources(load_for_send(settings.subscribers_file), settings):
            click.echo(f"warning: {problem}", err=True)
    with ctx.store() as store:
        if dry_run:
            subs = load_for_send(settings.subscribers_file).subscribers
            day = daily.digest_day(settings, now())
            key = daily.run_key(settings, day)
            today, flags = store.run(key), {"force": force, "resend_failed": resend_failed}
            digest, _html, _text = daily.preview(settings, store, now=now())
            reason = readiness.nothing_to_send(settings, store, today, subs, entries=digest.entries, **flags)
            if reason is not None:
                click.echo(f"{reason} (dry run: nothing sent)")
                return
            carries = bool(digest.item_ids)
            count, others = readiness.would_send(
                settings, store, today, subs, key=key, day=day, carries=carries, entries=digest.entries, **flags
            )
            click.echo(f"subject: {digest.subject}")
            click.echo(
                f"would send to {count} of {plural(len(subs), 'subscriber')} ({others}); {plural(digest.count, 'item')}"
            )
            for e in digest.entries:
                click.echo(f"  - [{e.summary.kind}] {e.title} ({e.source})")
            return
        if to:
            message = daily.test_message(settings, store, normalise_email(to), now=now())
            sender = make_sender(settings)
            try:
                reply = sender.send(message)
            finally:
                sender.close()
            click.echo(f"test copy sent to {to}: {reply}")
            return
        waiting = store.count_unsummarised()
        if waiting and store.run(daily.run_key(settings, daily.digest_day(settings, now()))) is None:
            click.echo(
                f"note: {waiting} new item{'s are' if waiting != 1 else ' is'} not summarised yet and will "
                "wait for tomorrow's digest (run `digest poll` first to include them)",
                err=True,
            )
        subs = load_for_send(settings.subscribers_file).subscribers
        stop = Stop()
        sender = make_sender(settings)  # one sender for the digest and the editors' report, closed here
        try:
            with _progress("sending", len(subs)) as tick, _stop_on_signals(stop):
                outcome = daily.send_digest(
                    settings,
                    store,
                    sender,
                    clock=now,
                    force=force,
                    resend_failed=resend_failed,
                    stop=stop,
                    progress=lambda _d, _t: tick(),
                )
            click.echo(outcome.message)
            if outcome.digest is not None and outcome.report is not None:
                click.echo(f"subject: {outcome.digest.subject}")
            if outcome.report is None:
                return
            for email, reply in outcome.report.failed:
                click.echo(f"  failed {email}: {reply}", err=True)
            for email, reply in outcome.report.deferred:
                click.echo(f"  pending {email}: {reply}", err=True)
            report = daily.editor_report(settings, store, outcome, now=now())
            if report is not None:
                daily.send_report(settings, sender, report)
        finally:
            sender.close()
        if outcome.report.failed or outcome.report.deferred or outcome.report.aborted or outcome.report.stopped:
            sys.exit(1)


# ---- summarise


@cli.command()
@click.argument("source", metavar="PATH_OR_URL")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the stable contract).")
@click.option(
    "--words",
    type=click.IntRange(10, 2000),
    default=120,
    show_default=True,
    help="At most this many words in the summary.",
)
@click.option(
    "--source-type",
    "source_type",
    type=click.Choice(SOURCE_TYPES),
    help="What sort of source it comes from, as a feed's `type` says.",
)
@click.option("--kind", "source_type", type=click.Choice(SOURCE_TYPES), hidden=True)  # the option's old name
@pass_ctx
def summarise(ctx: Context, source: str, as_json: bool, words: int, source_type: SourceType | None) -> None:
    """Summarise a .txt, .html or .pdf file or an http(s) URL."""
    from .store import summary_json
    from .summarise import Hints
    from .summarise import summarise as summarise_doc

    if source.startswith(("http://", "https://")):
        import asyncio

        from .fetch import Fetcher

        settings = settings_or_default(ctx)

        async def get() -> tuple[bytes, str, str]:
            async with Fetcher(settings.fetch) as fetcher:
                r = await fetcher.get(source)
                return r.content, r.url, r.content_type

        content, url, ctype = asyncio.run(get())
    else:
        path = Path(source)
        try:
            content = path.read_bytes()
        except OSError as exc:
            fail(f"{source}: {exc.strerror or exc}", 2)
        url, ctype = path.resolve().as_uri(), ""
        if path.suffix.lower() in (".txt", ".text", ".md"):
            ctype = "text/plain"
    from .extract import NOT_TEXT, is_binary, is_pdf

    if not content.strip():
        fail(f"{source}: empty: there is nothing to summarise", 2)
    if source.lower().endswith(".pdf") and not is_pdf(content, ctype):
        fail(f"{source}: named .pdf, but it is not a PDF (a PDF begins %PDF)", 2)  # a page saved under a PDF's name
    if not is_pdf(content, ctype) and is_binary(content):
        fail(f"{source}: {NOT_TEXT}", 2)  # by its content, whatever its name: garbage in is no summary out
    if ctype == "text/plain":
        from .extract import extract_text

        doc = extract_text(content.decode("utf-8", errors="replace"), url=url)
    else:
        from .extract import extract

        doc = extract(content, url=url, content_type=ctype)
    result = summarise_doc(doc, Hints(source_type=source_type, filtered=True), words=words)
    if as_json:
        import json

        click.echo(json.dumps(summary_json(result, contract=True), ensure_ascii=False, indent=2))
        return
    click.echo(result.title)
    click.echo(f"kind: {result.kind}; about probation: {'yes' if result.about_probation else 'no'}")
    for label, value in (
        ("organisation", result.organisation),
        ("rating", result.rating or result.rating_note),
        ("published", result.published),
        ("chief inspector", result.chief_inspector),
    ):
        if value:
            click.echo(f"{label}: {value}")
    click.echo(f"\n{result.summary}")
    if result.key_findings:
        click.echo("\nKey findings:")
        for f in result.key_findings:
            click.echo(f"  - {f}")
    if result.recommendations:
        click.echo(f"\nRecommendations ({len(result.recommendations)}):")
        for i, r in enumerate(result.recommendations, 1):
            click.echo(f"  {i}. {r.owner + ': ' if r.owner else ''}{r.text}")
    if result.chief_inspector_quote:
        click.echo(f"\n“{result.chief_inspector_quote}”")


# ---- serve


@cli.command()
@click.option("--host", help="Address to listen on (default: web.host from the config).")
@click.option("--port", type=int, help="Port (default: web.port from the config).")
@pass_ctx
def serve(ctx: Context, host: str | None, port: int | None) -> None:
    """Run the service: the scheduler (poll, noon send) and the web app, in one process."""
    from .web import run_service

    run_service(ctx.settings, host=host, port=port)


@cli.command("hash-password")
@click.password_option("--password", prompt="Admin password", help="Read from a prompt when not given.")
def hash_password_cmd(password: str) -> None:
    """Print the hash to put in $DIGEST_ADMIN_PASSWORD_HASH for the web admin."""
    from .auth import hash_password

    click.echo(hash_password(password))


@cli.command("dkim-record")
@pass_ctx
def dkim_record(ctx: Context) -> None:
    """Print the DNS TXT record to publish for the DKIM key in the settings (dkim.key_file)."""
    from .signing import dns_record, zone_line

    dkim = ctx.settings.dkim
    if dkim is None:
        fail(f"{ctx.settings.path}: no dkim section; add dkim: {{selector: ..., key_file: ...}} (see README, DKIM)", 2)
    name, value = dns_record(dkim)
    click.echo(f"Publish this TXT record in the DNS of {dkim.domain}:\n")
    click.echo(f"name:  {name}")
    click.echo(f"value: {value}\n")
    click.echo("As a zone file line (DNS takes the value in strings of at most 255 characters):\n")
    click.echo(zone_line(name, value))


for _command in (status, feeds, subscribers, bounces, ratings, backfill):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> Any:
    _freeze_at_exit()
    try:
        return cli.main(args=argv, prog_name="digest", standalone_mode=False)
    except click.exceptions.Abort:
        fail("aborted", 1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (ConfigError, InputError) as exc:
        fail(str(exc), 2)
    except LockedError as exc:
        fail(f"{exc}; another send is running (if its process died, the lock is recovered automatically)", 3)
    except DigestError as exc:
        fail(str(exc), 1)
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except OSError as exc:  # a path the settings or an option name that cannot be made, read or written
        fail(f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc), 1)


@functools.cache
def _freeze_at_exit() -> None:
    """At exit the interpreter's last collections walk every object the libraries made: 50-60 ms of a poll's
    70 ms of shutting down. Frozen (moved where the collector does not look) once the command is done, the objects
    are still freed as the modules are cleared, only not walked first. Python never promised a __del__ at exit to
    what lives until then, and nothing of ours waits for one: files, the database and the worker pool are closed
    before the command returns, and atexit handlers (logging's flush among them) still run."""
    atexit.register(gc.freeze)


if __name__ == "__main__":
    main()
