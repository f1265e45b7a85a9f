"""The editor's admin pages: sign-in and out, the dashboard, the preview (for anyone on the list) and test copy,
and the send. The other nouns have their own modules (admin_feeds, admin_items, admin_subscribers, admin_log);
`web.create_app` routes them all, behind `auth.admin_only`."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from . import auth, daily, next_email, readiness
from .admin_base import AdminBase
from .csp import email_policy
from .deliver import OutboxSender
from .errors import DigestError
from .preferences import describe
from .subscribers import load_for_send, normalise_email

log = logging.getLogger("digest")


class AdminPages(AdminBase):
    """Sign-in, dashboard, preview, test copy and send."""

    def signed_in(self, request: Request) -> bool:
        return auth.signed_in(request, self.svc.reader(), self.svc.clock())

    async def login(self, request: Request) -> Response:
        svc = self.svc
        settings = self.svc.settings
        clock = self.svc.clock
        client = auth.client(request)
        if request.method == "GET":
            return self.page("admin/login", csrf=auth.csrf(request))
        form = await auth.form(request)
        if svc.login_failures.blocked(client):
            return self.page(
                "admin/login", 429, csrf=auth.csrf(request), error="Too many failed attempts; wait 15 minutes."
            )
        if not auth.csrf_ok(form, request):
            return self.page("admin/login", 403, csrf=auth.csrf(request), error="The form expired; try again.")
        stored = os.environ.get(settings.admin_password_env, "")
        if not stored or not auth.check_password(form.get("password", ""), stored):
            svc.login_failures.hit(client)
            if svc.login_failures.blocked(client):
                log.warning(
                    "admin login: %d wrong passwords from %s; that client is locked out for %d minutes",
                    svc.login_failures.limit,
                    client,
                    svc.login_failures.window // 60,
                )
            if not stored:
                error = f"No admin password is set (${settings.admin_password_env})."
            elif auth.hash_problem(stored):
                error = f"The admin password is not set up correctly: ${settings.admin_password_env} is not a hash."
            else:
                error = "Wrong password."
            return self.page("admin/login", 401, csrf=auth.csrf(request), error=error)
        with svc.store() as store:
            auth.sign_in(request, store, clock())
        target = request.query_params.get("next", "/admin")
        return RedirectResponse(target if target.startswith("/admin") else "/admin", status_code=303)

    async def logout(self, request: Request) -> Response:
        svc = self.svc
        with svc.store() as store:
            auth.sign_out(request, store)
        return RedirectResponse("/admin/login", status_code=303)

    async def dashboard(self, request: Request) -> Response:
        svc = self.svc
        clock = self.svc.clock
        now = clock()
        store = svc.reader()
        facts = svc.facts(store, now)
        return self.page(
            "admin/dashboard",
            csrf=auth.csrf(request),
            feeds=facts.feeds,
            runs=[(r, svc.run_tally(store, r)) for r in facts.recent],
            next_send=svc.next_send(now, facts.today),
            last_poll=facts.last_poll,
            waiting=svc.waiting(store, now),
            last_send=svc.last_send,
            problems=svc.verdict(store, facts).problems,
        )

    async def preview_page(self, request: Request) -> Response:
        """Today's digest as it will be sent; with ?email=, as that subscriber gets it (their preferences)."""
        svc = self.svc
        settings = self.svc.settings
        clock = self.svc.clock
        email = request.query_params.get("email", "").strip()
        subscriber = (await svc.subscribers()).find(email) if email else None
        if email and subscriber is None:
            return self.done(request, "Not on the list", f"{email} is not a subscriber.", "/admin/subscribers", 404)
        with svc.store() as store:
            if subscriber is None:
                nxt = None
                digest, html, text = daily.preview(settings, store, now=clock())
            else:
                nxt, digest, html, text = next_email.preview(settings, store, subscriber, now=clock())
        if request.query_params.get("format") == "html":  # shown in the preview page's frame
            return HTMLResponse(html, headers={"Content-Security-Policy": email_policy(html, framed_by_self=True)})
        return self.page(
            "admin/preview",
            csrf=auth.csrf(request),
            digest=digest,
            text=text,
            editor=(settings.editors or ("",))[0],
            subscriber=subscriber,
            next_email=nxt,
            gets=describe(
                subscriber,
                send_time=settings.send_time,
                timezone=settings.timezone,
                today=daily.digest_day(settings, clock()),
            )
            if subscriber
            else None,
            frame=f"/admin/preview?format=html&email={quote(email)}" if subscriber else "/admin/preview?format=html",
        )

    async def test_send(self, request: Request) -> Response:
        svc = self.svc
        settings = self.svc.settings
        clock = self.svc.clock
        to = request.state.form.get("to", "").strip()
        try:
            with svc.store() as store:
                message = daily.test_message(settings, store, normalise_email(to), now=clock())
            reply = await asyncio.to_thread(svc.sender.send, message)
        except DigestError as exc:
            return self.done(request, "Test copy not sent", f"Not sent to {to}: {exc}", "/admin/preview", 400)
        except Exception:
            log.exception("test copy to %s failed", to)
            return self.done(
                request, "Test copy not sent", "An unexpected error; the log has it.", "/admin/preview", 500
            )
        # The outbox answers with the file it wrote: a path on the server, which is no business of the page.
        outbox = isinstance(svc.sender, OutboxSender) or not _SMTP_REPLY.match(reply)
        said = (
            " It is in the outbox folder (delivery method: outbox)." if outbox else f" The mail server replied: {reply}"
        )
        return self.done(
            request, "Test copy sent", f"A test copy of today's digest went to {to}.{said}", "/admin/preview"
        )

    async def send_page(self, request: Request) -> Response:
        """Send now: one choice of what to send (radio buttons), then a confirmation saying to how many."""
        svc = self.svc
        settings = self.svc.settings
        clock = self.svc.clock
        if request.method == "POST":
            mode = request.state.form.get("mode", "continue")
            if mode not in _MODES:
                return self.done(request, "Not sent", "Choose what to send.", "/admin/send", 400)
            force, resend = mode == "force", mode == "resend"
            try:
                subs = (await asyncio.to_thread(load_for_send, settings.subscribers_file)).subscribers
            except DigestError as exc:
                return self.done(request, "Not sent", str(exc), "/admin/send", 400)
            with svc.store() as store:
                day = daily.digest_day(settings, clock())
                key = daily.run_key(settings, day)
                run = store.run(key)
                digest, _html, _text = daily.preview(settings, store, now=clock())
                why_not = readiness.nothing_to_send(
                    settings, store, run, subs, force=force, resend_failed=resend, entries=digest.entries
                )
                count = readiness.recipients_now(
                    settings,
                    store,
                    run,
                    subs,
                    key=key,
                    day=day,
                    carries=bool(digest.item_ids),
                    force=force,
                    resend_failed=resend,
                    entries=digest.entries,
                )
            empty_day = why_not is None and (run is None or force) and digest.count == 0 and not settings.send_empty
            if why_not is not None:
                return self.done(request, "Nothing to send", f"Nothing was sent: {_words(why_not)}.", "/admin/log")
            if not self.confirmed(request) and empty_day:
                return self.confirm(
                    request,
                    title="Send now?",
                    text="There is nothing new today and schedule.send_empty is off: no email will go to anyone; "
                    "today is recorded as an empty day.",
                    button="Record an empty day",
                    back="/admin/send",
                )
            if not self.confirmed(request):
                return self.confirm(
                    request,
                    title="Send now?",
                    text=f"{_MODES[mode]}: “{digest.subject}” will go to {count} "
                    f"recipient{'' if count == 1 else 's'} now.",
                    button=f"Send to {count} now",
                    back="/admin/send",
                )
            if not svc.start_send(force=force, resend_failed=resend):
                svc.last_send = "a send is already running"
            return RedirectResponse("/admin/log", status_code=303)
        subs = (await svc.subscribers()).subscribers
        with svc.store() as store:
            digest, _html, _text = daily.preview(settings, store, now=clock())
            status = svc.today_status(store)
            day = daily.digest_day(settings, clock())
            run = store.run(daily.run_key(settings, day))
            why_not = readiness.nothing_to_send(settings, store, run, subs, entries=digest.entries)
            count, others = readiness.would_send(
                settings,
                store,
                run,
                subs,
                key=daily.run_key(settings, day),
                day=day,
                carries=bool(digest.item_ids),
                entries=digest.entries,
            )
        return self.page(
            "admin/send",
            csrf=auth.csrf(request),
            digest=digest,
            subscribers=len(subs),
            count=0 if why_not else count,
            others=others,
            why_not=_words(why_not) if why_not else None,
            status=status,
        )


_SMTP_REPLY = re.compile(r"[2-5]\d\d\b")
_CLI_WORDS = (
    ("use --resend-failed", "choose “Only retry today's failed deliveries”"),
    ("use --force", "choose “Start a new run”"),
)


def _words(reason: str) -> str:
    """A reason in the admin's words, not the command line's."""
    for flag, choice in _CLI_WORDS:
        reason = reason.replace(flag, choice)
    return reason


_MODES = {
    "continue": "Today's digest, to everyone not yet sent it",
    "resend": "Retry today's failed deliveries (and anyone not yet sent it)",
    "force": "A new run: everyone gets today's digest again",
}
