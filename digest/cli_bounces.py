"""`digest bounces …`: mail that comes back, for a local mail server's pipe or `.forward` to the bounce address.
Imports its modules when it runs, so `--help` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .cli_context import Context, fail, pass_ctx
from .clock import utcnow


@click.group()
def bounces() -> None:
    """Bounces, complaints and mailto: unsubscribes that come back to the list."""


@bounces.command("process")
@click.argument("source", metavar="FILE|-")
@pass_ctx
def bounces_process(ctx: Context, source: str) -> None:
    """Read one message or an mbox (FILE, or - for stdin) and act on each: suppress, count, unsubscribe."""
    name = "stdin" if source == "-" else source
    data = sys.stdin.buffer.read() if source == "-" else _read(Path(source))
    messages = _messages(data, name)
    from .bounce_policy import processor_for

    with ctx.store() as store:
        processor = processor_for(ctx.settings, store, source="process")
        for raw in messages:
            click.echo(processor.process(raw, now=utcnow()).line())


@bounces.command("poll")
@pass_ctx
def bounces_poll(ctx: Context) -> None:
    """Process the bounce mailbox once (settings bounces.imap): each message, then moved to the processed folder."""
    from .bounce_policy import poll_imap
    from .errors import DigestError

    if ctx.settings.bounces.imap is None:
        fail("no bounce mailbox is configured (bounces.imap in the settings)", 2)
    with ctx.store() as store:
        try:
            lines = poll_imap(ctx.settings, store, clock=utcnow)
        except DigestError as exc:
            fail(str(exc), 1)
    for line in lines:
        click.echo(line)
    click.echo(f"{len(lines)} message{'' if len(lines) == 1 else 's'} in the bounce mailbox", err=True)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"{path}: cannot read: {exc.strerror or exc}", 2)


def _messages(data: bytes, name: str) -> list[bytes]:
    """One message, or each message of an mbox (it starts with a `From ` line); exits 2 if it is neither."""
    import mailbox
    import tempfile
    from email import message_from_bytes, policy

    if not data.strip():
        fail(f"{name}: empty; expected an email message or an mbox", 2)
    if data.startswith(b"From "):
        with tempfile.NamedTemporaryFile(suffix=".mbox") as fh:
            fh.write(data)
            fh.flush()
            box = mailbox.mbox(fh.name, create=False)
            messages = [box.get_bytes(key) for key in box.iterkeys()]
            box.close()
    else:
        messages = [data]
    for i, raw in enumerate(messages, start=1):
        if not message_from_bytes(raw, policy=policy.compat32).keys():
            where = f" (message {i})" if len(messages) > 1 else ""
            fail(f"{name}{where}: not an email message (no headers)", 2)
    return messages
