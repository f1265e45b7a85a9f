"""The editor's admin pages: sign-in and out, the dashboard, the subscriber list, preview and test copy, the
send and its log. `web.create_app` routes them, behind `auth.admin_only`."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from . import auth, daily
from .csp import email_policy
from .errors import DigestError
from .service import Service
from .subscribers import Editor, normalise_email
from .subscribers import load as load_subscribers

log = logging.getLogger("digest")


class AdminPages:
    """The admin routes' handlers, over one Service, rendering with the web pages' `page`."""

    def __init__(self, svc: Service, page: Callable[..., HTMLResponse]) -> None:
        self.svc = svc
        self.page = page

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

    async def subscribers_page(self, request: Request) -> Response:
        svc = self.svc
        settings = self.svc.settings
        message, code = "", 200
        if request.method == "POST":
            form = request.state.form
            action, email = form.get("action"), form.get("email", "").strip()
            try:
                loaded = load_subscribers(settings.subscribers_file)
                if action == "add":
                    Editor(loaded).add(email, form.get("name") or None)
                    with svc.store() as store:
                        store.unsuppress(email)
                    message = f"Added {email}."
                elif action == "remove":
                    Editor(loaded).remove(email)
                    message = f"Removed {email}."
                elif action == "unsuppress":
                    with svc.store() as store:
                        store.unsuppress(email)
                    message = f"{email} will receive the digest again."
            except (DigestError, ValueError) as exc:
                message, code = f"Not done: {exc}", 400
        q = request.query_params.get("q", "").strip().lower()
        subs = load_subscribers(settings.subscribers_file).subscribers
        with svc.store() as store:
            suppressed = store.suppressions()
        rows = [
            (s, suppressed.get(s.email.lower()))
            for s in subs
            if not q or q in s.email.lower() or q in (s.name or "").lower()
        ]
        return self.page(
            "admin/subscribers", code, csrf=auth.csrf(request), rows=rows, q=q, message=message, total=len(subs)
        )

    async def preview_page(self, request: Request) -> Response:
        svc = self.svc
        settings = self.svc.settings
        clock = self.svc.clock
        with svc.store() as store:
            digest, html, text = daily.preview(settings, store, now=clock())
        if request.query_params.get("format") == "html":  # shown in the preview page's frame
            return HTMLResponse(html, headers={"Content-Security-Policy": email_policy(html, framed_by_self=True)})
        return self.page(
            "admin/preview", csrf=auth.csrf(request), digest=digest, text=text, editor=(settings.editors or ("",))[0]
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
            text = f"Test copy sent to {to}: {reply}"
        except Exception as exc:
            text = f"Test copy not sent: {exc}"
        return self.page("message", title="Send a test", text=text, link="/admin/preview")

    async def send_page(self, request: Request) -> Response:
        svc = self.svc
        settings = self.svc.settings
        clock = self.svc.clock
        if request.method == "POST":
            form = request.state.form
            if form.get("confirm") != "yes":
                return self.page("message", 400, title="Not sent", text="Tick the box to confirm.", link="/admin/send")
            started = svc.start_send(force=form.get("force") == "yes", resend_failed=form.get("resend") == "yes")
            if not started:
                svc.last_send = "a send is already running"
            return RedirectResponse("/admin/log", status_code=303)
        with svc.store() as store:
            digest, _html, _text = daily.preview(settings, store, now=clock())
            status = svc.today_status(store)
        subs = load_subscribers(settings.subscribers_file).subscribers
        return self.page("admin/send", csrf=auth.csrf(request), digest=digest, subscribers=len(subs), status=status)

    async def log_page(self, request: Request) -> Response:
        svc = self.svc
        running = svc.send_thread is not None and svc.send_thread.is_alive()
        with svc.store() as store:
            runs = store.recent_runs(14)
            failures = {r.key: store.deliveries(r.key, ["failed"]) for r in runs}
        return self.page(
            "admin/log", csrf=auth.csrf(request), runs=runs, failures=failures, running=running, last_send=svc.last_send
        )
