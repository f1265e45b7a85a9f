"""`digest subscribers …`: the subscriber list (the YAML file the editor owns) and its suppressions. Each command
imports the list's module (ruamel.yaml, email_validator) when it runs, so `--help` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli_context import Context, fail, pass_ctx
from .plural import plural


@click.group()
def subscribers() -> None:
    """Manage the subscriber list (the YAML file the editor owns)."""


@subscribers.command("list")
@pass_ctx
def subscribers_list(ctx: Context) -> None:
    """Every address with its status (active, or why it is suppressed: the reason, date and evidence) and, when
    active, what it gets; then, exiting 2, any reader's source that names no feed in the settings."""
    from .clock import utcnow
    from .preferences import describe
    from .subscribers import load as load_subscribers
    from .subscribers import unknown_sources

    settings = ctx.settings
    loaded = load_subscribers(settings.subscribers_file)
    today = utcnow().astimezone(settings.timezone).date()
    with ctx.store() as store:
        suppressed = store.suppression_details()
    for s in loaded.subscribers:
        why = suppressed.get(s.email.lower())
        line = f"{s.email:<40} {why.reason if why else 'active':<13} {s.name or ''}"
        if why:  # a suppressed reader gets nothing, whatever their preferences say
            line += f"  ({why.created:%Y-%m-%d}{': ' + why.detail[:160] if why.detail else ''})"
        else:
            line += f"  [gets {describe(s, send_time=settings.send_time, timezone=settings.timezone, today=today)}]"
        click.echo(line)
    click.echo(
        f"{plural(len(loaded.subscribers), 'subscriber')}, "
        f"{sum(1 for s in loaded.subscribers if s.email.lower() in suppressed)} suppressed",
        err=True,
    )
    problems = unknown_sources(loaded, settings)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        sys.exit(2)


@subscribers.command("add")
@click.argument("email")
@click.option("--name", help="Their name, for the To: line.")
@pass_ctx
def subscribers_add(ctx: Context, email: str, name: str | None) -> None:
    """Add an address (keeps the file's comments and order)."""
    from .subscribers import Editor
    from .subscribers import load as load_subscribers

    loaded = Editor(load_subscribers(ctx.settings.subscribers_file)).add(email, name)
    with ctx.store() as store:
        store.unsuppress(email)
    click.echo(f"added {email}; {plural(len(loaded.subscribers), 'subscriber')}")


@subscribers.command("remove")
@click.argument("email")
@pass_ctx
def subscribers_remove(ctx: Context, email: str) -> None:
    """Remove an address from the list."""
    from .subscribers import Editor
    from .subscribers import load as load_subscribers

    loaded = Editor(load_subscribers(ctx.settings.subscribers_file)).remove(email)
    click.echo(f"removed {email}; {plural(len(loaded.subscribers), 'subscriber')}")


@subscribers.command("unsuppress")
@click.argument("email")
@pass_ctx
def subscribers_unsuppress(ctx: Context, email: str) -> None:
    """Let a suppressed address (unsubscribed, bounced) receive the digest again."""
    with ctx.store() as store:
        if not store.unsuppress(email):
            fail(f"{email} is not suppressed", 1)
    click.echo(f"{email} will receive the digest again")


@subscribers.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the good rows even if some are bad.")
@pass_ctx
def subscribers_import(ctx: Context, csv_file: Path, skip_invalid: bool) -> None:
    """Import addresses from a CSV (email[,name]); nothing is imported if any row is bad."""
    from .subscribers import Editor, csv_text, read_csv
    from .subscribers import load as load_subscribers

    text = csv_text(csv_file.read_bytes(), str(csv_file))
    loaded = load_subscribers(ctx.settings.subscribers_file)
    report = read_csv(text, loaded)
    for row, reason in report.bad:
        click.echo(f"{csv_file}:{row}: {reason}", err=True)
    if report.bad and not skip_invalid:
        fail(
            f"{plural(len(report.bad), 'bad row')}; nothing imported (use --skip-invalid to import the rest)",
            2,
        )
    if report.good:
        Editor(loaded).add_many(report.good)
    click.echo(
        f"imported {len(report.good)}; skipped {len(report.duplicates)} already subscribed"
        + (f", {len(report.bad)} invalid" if report.bad else "")
    )


@subscribers.command("export")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with email, name and status (default: one address a line).")
@pass_ctx
def subscribers_export(ctx: Context, as_csv: bool) -> None:
    """Print the list, for a spreadsheet or another tool."""
    from .subscribers import load as load_subscribers
    from .subscribers import to_csv

    loaded = load_subscribers(ctx.settings.subscribers_file)
    if as_csv:
        with ctx.store() as store:
            click.echo(to_csv(loaded.subscribers, store.suppressions()), nl=False)
    else:
        for s in loaded.subscribers:
            click.echo(s.email)
