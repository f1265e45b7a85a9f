"""The web edge: the routes of the subscriber pages (double opt-in, one-click unsubscribe, web version),
/health for the operator and the editor's admin. `create_app` composes them with the service (`service`: jobs,
send thread, scheduler) and the protections (`auth`), all on one event loop (uvicorn + starlette).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import uvicorn
from jinja2 import Environment
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from . import auth, daily, schedule
from .clock import Clock, utcnow
from .config import Settings
from .csp import SecurityHeaders, email_policy
from .deliver import Sender
from .errors import DigestError, InputError, SubscriberError
from .models import HealthStatus
from .render import RECIPIENT, UNSUBSCRIBE, environment, templates_dir
from .service import Service
from .subscribers import Editor, normalise_email, normalise_name
from .subscribers import load as load_subscribers

log = logging.getLogger("digest")


def _read_confirm(settings: Settings, token: str) -> tuple[str, str | None] | None:
    """The address and name a confirmation link carries; None unless the link is ours and in date, and both still
    pass the checks a subscribe form gets (an older version may have signed it)."""
    found = daily.tokens(settings).read_confirm(token)
    if found is None:
        return None
    try:
        return normalise_email(found[0]), normalise_name(found[1])
    except InputError:
        return None


class Pages:
    """The routes' handlers, over one Service."""

    def __init__(self, svc: Service) -> None:
        self.svc = svc
        self.env: Environment = environment(svc.settings.templates_dir)

    def page(self, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        for optional in ("link", "error", "email", "message", "csrf"):
            context.setdefault(optional, None)
        html = self.env.get_template(f"web/{name}.html.j2").render(
            list_name=self.svc.settings.list_name, contact=self.svc.settings.contact, **context
        )
        return HTMLResponse(html, status_code=code)

    # ---- subscriber pages

    async def home(self, request: Request) -> Response:
        return self.page("home")

    async def subscribe(self, request: Request) -> Response:
        svc = self.svc
        if request.method == "GET":
            return self.page("subscribe", csrf=auth.csrf(request))
        form = await auth.form(request)
        if not auth.csrf_ok(form, request):
            return self.page("message", 403, title="Please try again", text="The form expired. Reload and resend.")
        if form.get("website"):  # a honeypot field people never see
            return self.page("subscribe-sent")
        try:
            email = normalise_email(form.get("email", ""))
        except InputError:
            return self.page(
                "subscribe",
                400,
                csrf=auth.csrf(request),
                error="That does not look like an email address.",
                email=form.get("email", ""),
            )
        try:
            name = normalise_name(form.get("name"))
        except InputError as exc:
            return self.page(
                "subscribe", 400, csrf=auth.csrf(request), error=f"That name cannot be used: {exc}.", email=email
            )
        if not (svc.subscribe_per_client.hit(auth.client(request)) and svc.subscribe_per_address.hit(email.lower())):
            return self.page("message", 429, title="Too many requests", text="Please try again in an hour.")
        try:
            await asyncio.to_thread(svc.sender.send, svc.confirmation(email, name))
        except DigestError as exc:
            log.error("confirmation to %s failed: %s", email, exc)
        # The same answer whether or not the address is already subscribed: no account enumeration.
        return self.page("subscribe-sent")

    async def confirm(self, request: Request) -> Response:
        svc = self.svc
        settings = self.svc.settings
        token = request.path_params["token"]
        found = _read_confirm(settings, token)
        if found is None:
            return self.page(
                "message",
                400,
                title="This link has expired or is not valid",
                text="Subscribe again to get a fresh link.",
            )
        email, name = found
        if request.method == "GET":
            return self.page("confirm", email=email, token=token)
        with svc.store() as store:
            store.unsuppress(email)
        loaded = load_subscribers(settings.subscribers_file)
        if loaded.find(email) is None:
            try:
                Editor(loaded).add(email, name)
            except SubscriberError as exc:
                log.error("confirm %s: %s", email, exc)
                return self.page(
                    "message", 409, title="Please try again", text="The list was busy; try the link again."
                )
        return self.page(
            "message", title="You are subscribed", text=f"{email} will receive {settings.list_name} every day at noon."
        )

    def ask_address(self, request: Request, code: int = 200, **context: Any) -> Response:
        context.setdefault("title", "Unsubscribe")
        context.setdefault(
            "text",
            "Use the link at the foot of any digest email, or give your address and we will email you a link "
            "that unsubscribes it.",
        )
        return self.page("unsubscribe-request", code, csrf=auth.csrf(request), **context)

    async def unsubscribe_by_address(self, request: Request) -> Response:
        svc = self.svc
        settings = self.svc.settings
        form = await auth.form(request)
        if not auth.csrf_ok(form, request):
            return self.page("message", 403, title="Please try again", text="The form expired. Reload and resend.")
        try:
            email = normalise_email(form.get("email", ""))
        except InputError:
            return self.ask_address(
                request, 400, error="That does not look like an email address.", email=form.get("email", "")
            )
        sent = self.page(
            "message",
            title="Check your inbox",
            text=f"If {email} receives {settings.list_name}, an email with a link to unsubscribe it is on its way.",
        )
        if form.get("website"):  # a honeypot field people never see
            return sent
        if not (
            svc.unsubscribe_per_client.hit(auth.client(request)) and svc.unsubscribe_per_address.hit(email.lower())
        ):
            return self.page("message", 429, title="Too many requests", text="Please try again in an hour.")
        # After the response, so that it is the same, and as quick, whether or not the address is on the list.
        sent.background = BackgroundTask(svc.send_unsubscribe_link, email)
        return sent

    async def unsubscribe(self, request: Request) -> Response:
        svc = self.svc
        settings = self.svc.settings
        clock = self.svc.clock
        token = request.path_params.get("token")
        if token is None:
            return await self.unsubscribe_by_address(request) if request.method == "POST" else self.ask_address(request)
        email = daily.tokens(settings).read_unsubscribe(token)
        if email is None:
            return self.ask_address(
                request,
                400,
                title="This link is not valid",
                text="It may have been cut short or changed on its way. Give your address and we will email you a "
                "link that unsubscribes it.",
            )
        if request.method == "GET":
            return self.page("unsubscribe", email=email, token=token)
        # RFC 8058 one-click: a POST with List-Unsubscribe=One-Click, from the mail client, needs no page.
        with svc.store() as store:
            store.suppress(email, "unsubscribed", now=clock())
        return self.page(
            "message",
            title="You are unsubscribed",
            text=f"{email} will not receive {settings.list_name} again. Changed your mind? "
            f"Subscribe again at any time.",
            link=f"{settings.public_url}/subscribe",
        )

    async def web_digest(self, request: Request) -> Response:
        svc = self.svc
        settings = self.svc.settings
        try:
            day = date.fromisoformat(request.path_params["day"])
        except ValueError:
            return self.page("message", 404, title="No such digest", text="Dates look like 2026-11-24.")
        with svc.store() as store:
            run = store.run(daily.run_key(settings, day))
        if run is None or not run.html:
            return self.page("message", 404, title="No digest that day", text=f"Nothing was sent on {day}.")
        html = run.html.replace(UNSUBSCRIBE, f"{settings.public_url}/unsubscribe").replace(RECIPIENT, "")
        return HTMLResponse(html, headers={"Content-Security-Policy": email_policy(html)})

    async def health(self, request: Request) -> Response:
        svc = self.svc
        settings = self.svc.settings
        clock = self.svc.clock
        with svc.store() as store:
            runs = store.recent_runs(1)
            status = svc.today_status(store)
            broken = [
                {"name": h.name, "url": h.url, "error": h.disabled or h.last_error, "failures": h.failures}
                for h in store.feed_health()
                if h.last_error or h.disabled
            ]
            last_poll = store.last_poll()
            verdict = svc.verdict(store)
        late = schedule.overdue(settings, clock(), status)
        state: HealthStatus = "ok" if verdict.ok else ("overdue" if late else "failing")
        body = {
            "status": state,
            "problems": list(verdict.problems),
            "last_poll": last_poll.isoformat() if last_poll else None,
            "last_digest": None
            if not runs
            else {"day": runs[0].day.isoformat(), "status": runs[0].status, "deliveries": runs[0].counts},
            "today": status,
            "next_send": schedule.next_send(settings, clock()).isoformat(),
            "feeds_in_error": broken,
        }
        return JSONResponse(body, status_code=200 if verdict.ok else 503)

    # ---- admin

    def signed_in(self, request: Request) -> bool:
        with self.svc.store() as store:
            return auth.signed_in(request, store, self.svc.clock())

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
        settings = self.svc.settings
        clock = self.svc.clock
        now = clock()
        with svc.store() as store:
            return self.page(
                "admin/dashboard",
                csrf=auth.csrf(request),
                feeds=store.feed_health(),
                runs=store.recent_runs(7),
                next_send=schedule.next_send(settings, now).astimezone(settings.timezone),
                last_poll=store.last_poll(),
                pending=len(store.pending_items()),
                last_send=svc.last_send,
                problems=svc.verdict(store).problems,
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


def create_app(
    settings: Settings, *, clock: Clock = utcnow, sender: Sender | None = None, scheduler: bool = False
) -> ASGIApp:
    svc = Service(settings, clock=clock, sender=sender)
    pages = Pages(svc)
    stored_hash = os.environ.get(settings.admin_password_env)
    if stored_hash and (problem := auth.hash_problem(stored_hash)):
        log.warning("$%s cannot be used, so no one can log in to the admin: %s", settings.admin_password_env, problem)
    public_https = settings.public_url.startswith("https://")

    def admin(handler: auth.Handler) -> auth.Handler:
        return auth.admin_only(handler, pages.signed_in)

    routes = [
        Route("/", pages.home),
        Route("/subscribe", pages.subscribe, methods=["GET", "POST"]),
        Route("/confirm/{token}", pages.confirm, methods=["GET", "POST"]),
        Route("/unsubscribe", pages.unsubscribe, methods=["GET", "POST"]),
        Route("/unsubscribe/{token}", pages.unsubscribe, methods=["GET", "POST"]),
        Route("/digests/{day}", pages.web_digest),
        Route("/health", pages.health),
        Route("/admin/login", pages.login, methods=["GET", "POST"]),
        Route("/admin/logout", pages.logout, methods=["POST", "GET"]),
        Route("/admin", admin(pages.dashboard)),
        Route("/admin/subscribers", admin(pages.subscribers_page), methods=["GET", "POST"]),
        Route("/admin/preview", admin(pages.preview_page)),
        Route("/admin/test", admin(pages.test_send), methods=["POST"]),
        Route("/admin/send", admin(pages.send_page), methods=["GET", "POST"]),
        Route("/admin/log", admin(pages.log_page)),
        # The pages' stylesheet lives with their templates, so a restyled copy (templates_dir) brings its own.
        Mount(
            "/static", StaticFiles(directory=templates_dir(settings.templates_dir) / "web" / "static", check_dir=False)
        ),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if scheduler:
            svc.start_jobs()
        try:
            yield
        finally:
            await svc.shutdown()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=settings.keys.current,
                session_cookie="digest_session",
                max_age=int(auth.SESSION_TTL.total_seconds()),
                same_site="strict",
                https_only=public_https,
            )
        ],
    )
    # Outermost, around Starlette's own error handling, so that 404s and 500s carry the headers too.
    return SecurityHeaders(app)


def run_service(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings, scheduler=True)
    uvicorn.run(
        app,
        host=host or settings.web_host,
        port=port or settings.web_port,
        log_level="info",
        # X-Forwarded-For names the client only when the peer is a proxy the settings trust; otherwise anyone
        # could claim any address and dodge the rate limits and the lock-out.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
        timeout_graceful_shutdown=60,
    )
