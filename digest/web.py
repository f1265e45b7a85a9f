"""The web edge and the service: subscriber pages (double opt-in, one-click unsubscribe, web version),
/health for the operator, the editor's admin, and the scheduler, all on one event loop (uvicorn + starlette).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timedelta
from email.utils import make_msgid
from typing import Any

import uvicorn
from jinja2 import Environment
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from . import daily, messages, pipeline, schedule
from .clock import Clock, utcnow
from .config import Settings
from .csp import SecurityHeaders, email_policy
from .deliver import Sender, make_sender
from .errors import DigestError, InputError, LockedError, SubscriberError
from .fetch import Fetcher
from .health import JobState, Verdict, assess
from .ledger import Stop
from .models import HealthStatus, Message
from .render import RECIPIENT, UNSUBSCRIBE, environment, templates_dir
from .store import Store
from .subscribers import Editor, normalise_email, normalise_name
from .subscribers import load as load_subscribers
from .workers import InlineRunner, Runner, WorkerPool

log = logging.getLogger("digest")
SESSION_TTL = timedelta(hours=8)  # an editor's session, from logging in; the cookie lives as long


# ---- passwords


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """scrypt, stored as scrypt$N$r$p$salt$hash (base64). Put the result in the admin password variable."""
    salt = salt or secrets.token_bytes(16)
    n, r, p = 2**14, 8, 1
    digest = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, want = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(want))


def hash_problem(stored: str) -> str | None:
    """Why a value in the admin password variable cannot be a hash from `digest hash-password`, or None. The usual
    cause is the shell: inside double quotes, $16384, $8 and $1 are replaced by (empty) variables."""
    if stored[:1] in "'\"" and stored[-1:] == stored[:1]:
        return "it is wrapped in quotes, which `docker run --env-file` keeps as part of the value; remove them"
    parts = stored.split("$")
    try:
        ok = len(parts) == 6 and parts[0] == "scrypt" and all(int(x) > 0 for x in parts[1:4])
        ok = ok and len(base64.b64decode(parts[4], validate=True)) > 0 and len(base64.b64decode(parts[5])) == 32
    except (ValueError, TypeError):
        ok = False
    if ok:
        return None
    return (
        "it is not a hash from `digest hash-password` (expected scrypt$16384$8$1$…$…); a hash typed in double "
        "quotes loses every $ and what follows it, so put it in single quotes: 'scrypt$16384$8$1$…'"
    )


class Limiter:
    """At most `limit` events per key in a sliding window (in memory: one process serves the site)."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._events[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def hit(self, key: str, now: float | None = None) -> bool:
        """Record an event; False when the key is over its limit."""
        now = time.monotonic() if now is None else now
        q = self._recent(key, now)
        if len(q) >= self.limit:
            return False
        q.append(now)
        return True

    def blocked(self, key: str, now: float | None = None) -> bool:
        return len(self._recent(key, time.monotonic() if now is None else now)) >= self.limit


# ---- the app


class Service:
    """What the handlers and jobs share: settings, the clock, a sender, and the in-flight send."""

    def __init__(self, settings: Settings, *, clock: Clock = utcnow, sender: Sender | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.sender = sender or make_sender(settings)
        self.env: Environment = environment(settings.templates_dir)
        self.stop = Stop()
        self.send_thread: threading.Thread | None = None
        self.last_send: str = ""
        self.subscribe_per_address = Limiter(3, 3600)
        self.subscribe_per_client = Limiter(10, 3600)
        self.unsubscribe_per_address = Limiter(3, 3600)
        self.unsubscribe_per_client = Limiter(10, 3600)
        self.login_failures = Limiter(5, 900)
        self.scheduler: Any = None
        self.started = clock()
        self.poll_state: JobState | None = None
        self.send_state: JobState | None = None
        # Feed parsing and summarising are CPU work: a process pool keeps the web pages responsive meanwhile.
        self.pool: Runner = InlineRunner()

    def store(self) -> Store:
        return Store(self.settings.database)

    def page(self, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        for optional in ("link", "error", "email", "message", "csrf"):
            context.setdefault(optional, None)
        html = self.env.get_template(f"web/{name}.html.j2").render(
            list_name=self.settings.list_name, contact=self.settings.contact, **context
        )
        return HTMLResponse(html, status_code=code)

    def today_status(self, store: Store) -> str | None:
        run = store.run(daily.run_key(self.settings, daily.digest_day(self.settings, self.clock())))
        return None if run is None else run.status

    def verdict(self, store: Store) -> Verdict:
        now = self.clock()
        key = daily.run_key(self.settings, daily.digest_day(self.settings, now))
        running = self.send_thread is not None and self.send_thread.is_alive()
        return assess(
            now=now,
            overdue=schedule.overdue(self.settings, now, self.today_status(store)),
            today_counts=store.delivery_counts(key),
            sending=running or store.lock_held("send", now=now),
            send_job=self.send_state,
            poll_job=self.poll_state,
            feeds=store.feed_health(),
            poll_interval=timedelta(minutes=self.settings.poll_interval_minutes),
            up_since=self.started,
        )

    # -- jobs

    async def poll_job(self, *, until: datetime | None = None) -> None:
        """Poll and read; with `until`, stop there (what was not read waits for the next poll)."""
        budget = None if until is None else (until - self.clock()).total_seconds()
        if budget is not None and budget <= 0:
            return
        error = None
        try:
            async with asyncio.timeout(budget):
                with self.store() as store:
                    async with Fetcher(self.settings.fetch, contact=self.settings.public_url) as fetcher:
                        await pipeline.poll(self.settings, store, fetcher, clock=self.clock, runner=self.pool)
                        await pipeline.process(self.settings, store, fetcher, clock=self.clock, runner=self.pool)
        except TimeoutError:
            log.warning("poll stopped at the send time; what it had not read waits for the next poll")
        except Exception as exc:  # the job must report, never die silently: /health shows it
            error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, DigestError):
                log.error("poll failed: %s", exc)
            else:
                log.exception("poll failed")
        self.poll_state = JobState(finished=self.clock(), error=error)

    def start_send(self, *, force: bool = False, resend_failed: bool = False) -> bool:
        """Send in a thread; False when a send is already running here."""
        if self.send_thread is not None and self.send_thread.is_alive():
            return False
        self.send_thread = threading.Thread(
            target=self._send, kwargs={"force": force, "resend_failed": resend_failed}, name="digest-send", daemon=True
        )
        self.send_thread.start()
        return True

    def _send(self, *, force: bool, resend_failed: bool) -> None:
        try:
            with self.store() as store:
                outcome = daily.send_digest(
                    self.settings,
                    store,
                    self.sender,
                    clock=self.clock,
                    force=force,
                    resend_failed=resend_failed,
                    stop=self.stop,
                )
                self.last_send = outcome.message
                self.send_state = JobState(finished=self.clock())
                report = daily.editor_report(self.settings, store, outcome, now=self.clock())
                if report is not None:
                    daily.send_report(self.settings, self.sender, report)
            log.info("send: %s", outcome.message)
        except LockedError as exc:
            self.last_send = f"not sent: {exc}"
            log.warning("send skipped: %s", exc)
        except Exception as exc:
            self.last_send = f"failed: {exc}"
            self.send_state = JobState(finished=self.clock(), error=str(exc))
            if isinstance(exc, DigestError):
                log.error("send failed: %s", exc)
            else:
                log.exception("send failed")
        finally:
            self.sender.close()  # the service owns its sender; no connection is kept open between sends

    async def pre_send_poll_job(self) -> None:
        """The poll before the send, cut short at the send time so the send never waits for it."""
        await self.poll_job(until=schedule.next_send(self.settings, self.clock()))

    async def send_job(self) -> None:
        # No poll here: the send goes at the send time with what the polls have read by then.
        if self.start_send():
            assert self.send_thread is not None
            await asyncio.to_thread(self.send_thread.join)

    def confirmation(self, email: str, name: str | None) -> Message:
        link = f"{self.settings.public_url}/confirm/{daily.tokens(self.settings).confirm(email, name)}"
        return messages.confirmation(
            self.settings, email, link, date=self.clock(), message_id=make_msgid(domain=self.settings.domain)
        )

    def unsubscribe_link(self, email: str) -> Message:
        """The way out when a link in a digest no longer works: a fresh one, sent to the address itself."""
        return messages.unsubscribe_link(
            self.settings,
            email,
            daily.unsubscribe_url(self.settings, email),
            date=self.clock(),
            message_id=make_msgid(domain=self.settings.domain),
        )

    def send_unsubscribe_link(self, email: str) -> None:
        """Mail the link if the address is on the list and still receives the digest; otherwise nothing."""
        try:
            if load_subscribers(self.settings.subscribers_file).find(email) is None:
                return
            with self.store() as store:
                if email.lower() in store.suppressions():
                    return
            self.sender.send(self.unsubscribe_link(email))
        except DigestError as exc:
            log.error("unsubscribe link to %s failed: %s", email, exc)


def _client(request: Request) -> str:
    """Who is asking, for the rate limits and the lock-out: the peer's address, or the address a trusted proxy
    forwarded. uvicorn decides which (run_service: forwarded headers count only from web.trusted_proxies), so
    this and its access log always agree."""
    return request.client.host if request.client else "unknown"


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


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


def create_app(
    settings: Settings, *, clock: Clock = utcnow, sender: Sender | None = None, scheduler: bool = False
) -> ASGIApp:
    svc = Service(settings, clock=clock, sender=sender)
    stored_hash = os.environ.get(settings.admin_password_env)
    if stored_hash and (problem := hash_problem(stored_hash)):
        log.warning("$%s cannot be used, so no one can log in to the admin: %s", settings.admin_password_env, problem)
    public_https = settings.public_url.startswith("https://")

    # ---- subscriber pages

    async def home(request: Request) -> Response:
        return svc.page("home")

    async def subscribe(request: Request) -> Response:
        if request.method == "GET":
            return svc.page("subscribe", csrf=_csrf(request))
        form = await _form(request)
        if not hmac.compare_digest(form.get("csrf", ""), _csrf(request)):
            return svc.page("message", 403, title="Please try again", text="The form expired. Reload and resend.")
        if form.get("website"):  # a honeypot field people never see
            return svc.page("subscribe-sent")
        try:
            email = normalise_email(form.get("email", ""))
        except InputError:
            return svc.page(
                "subscribe",
                400,
                csrf=_csrf(request),
                error="That does not look like an email address.",
                email=form.get("email", ""),
            )
        try:
            name = normalise_name(form.get("name"))
        except InputError as exc:
            return svc.page(
                "subscribe", 400, csrf=_csrf(request), error=f"That name cannot be used: {exc}.", email=email
            )
        if not (svc.subscribe_per_client.hit(_client(request)) and svc.subscribe_per_address.hit(email.lower())):
            return svc.page("message", 429, title="Too many requests", text="Please try again in an hour.")
        try:
            await asyncio.to_thread(svc.sender.send, svc.confirmation(email, name))
        except DigestError as exc:
            log.error("confirmation to %s failed: %s", email, exc)
        # The same answer whether or not the address is already subscribed: no account enumeration.
        return svc.page("subscribe-sent")

    async def confirm(request: Request) -> Response:
        token = request.path_params["token"]
        found = _read_confirm(settings, token)
        if found is None:
            return svc.page(
                "message",
                400,
                title="This link has expired or is not valid",
                text="Subscribe again to get a fresh link.",
            )
        email, name = found
        if request.method == "GET":
            return svc.page("confirm", email=email, token=token)
        with svc.store() as store:
            store.unsuppress(email)
        loaded = load_subscribers(settings.subscribers_file)
        if loaded.find(email) is None:
            try:
                Editor(loaded).add(email, name)
            except SubscriberError as exc:
                log.error("confirm %s: %s", email, exc)
                return svc.page("message", 409, title="Please try again", text="The list was busy; try the link again.")
        return svc.page(
            "message", title="You are subscribed", text=f"{email} will receive {settings.list_name} every day at noon."
        )

    def ask_address(request: Request, code: int = 200, **context: Any) -> Response:
        context.setdefault("title", "Unsubscribe")
        context.setdefault(
            "text",
            "Use the link at the foot of any digest email, or give your address and we will email you a link "
            "that unsubscribes it.",
        )
        return svc.page("unsubscribe-request", code, csrf=_csrf(request), **context)

    async def unsubscribe_by_address(request: Request) -> Response:
        form = await _form(request)
        if not hmac.compare_digest(form.get("csrf", ""), _csrf(request)):
            return svc.page("message", 403, title="Please try again", text="The form expired. Reload and resend.")
        try:
            email = normalise_email(form.get("email", ""))
        except InputError:
            return ask_address(
                request, 400, error="That does not look like an email address.", email=form.get("email", "")
            )
        sent = svc.page(
            "message",
            title="Check your inbox",
            text=f"If {email} receives {settings.list_name}, an email with a link to unsubscribe it is on its way.",
        )
        if form.get("website"):  # a honeypot field people never see
            return sent
        if not (svc.unsubscribe_per_client.hit(_client(request)) and svc.unsubscribe_per_address.hit(email.lower())):
            return svc.page("message", 429, title="Too many requests", text="Please try again in an hour.")
        # After the response, so that it is the same, and as quick, whether or not the address is on the list.
        sent.background = BackgroundTask(svc.send_unsubscribe_link, email)
        return sent

    async def unsubscribe(request: Request) -> Response:
        token = request.path_params.get("token")
        if token is None:
            return await unsubscribe_by_address(request) if request.method == "POST" else ask_address(request)
        email = daily.tokens(settings).read_unsubscribe(token)
        if email is None:
            return ask_address(
                request,
                400,
                title="This link is not valid",
                text="It may have been cut short or changed on its way. Give your address and we will email you a "
                "link that unsubscribes it.",
            )
        if request.method == "GET":
            return svc.page("unsubscribe", email=email, token=token)
        # RFC 8058 one-click: a POST with List-Unsubscribe=One-Click, from the mail client, needs no page.
        with svc.store() as store:
            store.suppress(email, "unsubscribed", now=clock())
        return svc.page(
            "message",
            title="You are unsubscribed",
            text=f"{email} will not receive {settings.list_name} again. Changed your mind? "
            f"Subscribe again at any time.",
            link=f"{settings.public_url}/subscribe",
        )

    async def web_digest(request: Request) -> Response:
        try:
            day = date.fromisoformat(request.path_params["day"])
        except ValueError:
            return svc.page("message", 404, title="No such digest", text="Dates look like 2026-11-24.")
        with svc.store() as store:
            run = store.run(daily.run_key(settings, day))
        if run is None or not run.html:
            return svc.page("message", 404, title="No digest that day", text=f"Nothing was sent on {day}.")
        html = run.html.replace(UNSUBSCRIBE, f"{settings.public_url}/unsubscribe").replace(RECIPIENT, "")
        return HTMLResponse(html, headers={"Content-Security-Policy": email_policy(html)})

    async def health(request: Request) -> Response:
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

    def signed_in(request: Request) -> bool:
        """The cookie is signed, but only the database says whether its session is still open (not logged out)."""
        sid = request.session.get("sid")
        if not isinstance(sid, str):
            return False
        with svc.store() as store:
            return store.session_open(sid, now=clock())

    def admin(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            if not signed_in(request):
                request.session.pop("sid", None)
                if request.method != "GET":
                    return PlainTextResponse("login required", status_code=401)
                return RedirectResponse(f"/admin/login?next={request.url.path}", status_code=303)
            if request.method == "POST":
                form = await _form(request)
                if not hmac.compare_digest(form.get("csrf", ""), str(request.session.get("csrf", ""))):
                    return PlainTextResponse("missing or wrong CSRF token", status_code=403)
                request.state.form = form
            return await handler(request)

        return guarded

    async def login(request: Request) -> Response:
        client = _client(request)
        if request.method == "GET":
            return svc.page("admin/login", csrf=_csrf(request))
        form = await _form(request)
        if svc.login_failures.blocked(client):
            return svc.page("admin/login", 429, csrf=_csrf(request), error="Too many failed attempts; wait 15 minutes.")
        if not hmac.compare_digest(form.get("csrf", ""), _csrf(request)):
            return svc.page("admin/login", 403, csrf=_csrf(request), error="The form expired; try again.")
        stored = os.environ.get(settings.admin_password_env, "")
        if not stored or not check_password(form.get("password", ""), stored):
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
            elif hash_problem(stored):
                error = f"The admin password is not set up correctly: ${settings.admin_password_env} is not a hash."
            else:
                error = "Wrong password."
            return svc.page("admin/login", 401, csrf=_csrf(request), error=error)
        # A new session id at every login; the one this browser had before (if any) is closed.
        sid = secrets.token_urlsafe(32)
        with svc.store() as store:
            if isinstance(request.session.get("sid"), str):
                store.close_session(request.session["sid"])
            store.open_session(sid, now=clock(), ttl=SESSION_TTL)
        request.session.clear()
        request.session["sid"] = sid
        request.session["csrf"] = secrets.token_urlsafe(24)
        target = request.query_params.get("next", "/admin")
        return RedirectResponse(target if target.startswith("/admin") else "/admin", status_code=303)

    async def logout(request: Request) -> Response:
        sid = request.session.get("sid")
        if isinstance(sid, str):
            with svc.store() as store:
                store.close_session(sid)
        request.session.clear()
        return RedirectResponse("/admin/login", status_code=303)

    async def dashboard(request: Request) -> Response:
        now = clock()
        with svc.store() as store:
            return svc.page(
                "admin/dashboard",
                csrf=_csrf(request),
                feeds=store.feed_health(),
                runs=store.recent_runs(7),
                next_send=schedule.next_send(settings, now).astimezone(settings.timezone),
                last_poll=store.last_poll(),
                pending=len(store.pending_items()),
                last_send=svc.last_send,
                problems=svc.verdict(store).problems,
            )

    async def subscribers_page(request: Request) -> Response:
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
        return svc.page(
            "admin/subscribers", code, csrf=_csrf(request), rows=rows, q=q, message=message, total=len(subs)
        )

    async def preview_page(request: Request) -> Response:
        with svc.store() as store:
            digest, html, text = daily.preview(settings, store, now=clock())
        if request.query_params.get("format") == "html":  # shown in the preview page's frame
            return HTMLResponse(html, headers={"Content-Security-Policy": email_policy(html, framed_by_self=True)})
        return svc.page(
            "admin/preview", csrf=_csrf(request), digest=digest, text=text, editor=(settings.editors or ("",))[0]
        )

    async def test_send(request: Request) -> Response:
        to = request.state.form.get("to", "").strip()
        try:
            with svc.store() as store:
                message = daily.test_message(settings, store, normalise_email(to), now=clock())
            reply = await asyncio.to_thread(svc.sender.send, message)
            text = f"Test copy sent to {to}: {reply}"
        except Exception as exc:
            text = f"Test copy not sent: {exc}"
        return svc.page("message", title="Send a test", text=text, link="/admin/preview")

    async def send_page(request: Request) -> Response:
        if request.method == "POST":
            form = request.state.form
            if form.get("confirm") != "yes":
                return svc.page("message", 400, title="Not sent", text="Tick the box to confirm.", link="/admin/send")
            started = svc.start_send(force=form.get("force") == "yes", resend_failed=form.get("resend") == "yes")
            if not started:
                svc.last_send = "a send is already running"
            return RedirectResponse("/admin/log", status_code=303)
        with svc.store() as store:
            digest, _html, _text = daily.preview(settings, store, now=clock())
            status = svc.today_status(store)
        subs = load_subscribers(settings.subscribers_file).subscribers
        return svc.page("admin/send", csrf=_csrf(request), digest=digest, subscribers=len(subs), status=status)

    async def log_page(request: Request) -> Response:
        running = svc.send_thread is not None and svc.send_thread.is_alive()
        with svc.store() as store:
            runs = store.recent_runs(14)
            failures = {r.key: store.deliveries(r.key, ["failed"]) for r in runs}
        return svc.page(
            "admin/log", csrf=_csrf(request), runs=runs, failures=failures, running=running, last_send=svc.last_send
        )

    routes = [
        Route("/", home),
        Route("/subscribe", subscribe, methods=["GET", "POST"]),
        Route("/confirm/{token}", confirm, methods=["GET", "POST"]),
        Route("/unsubscribe", unsubscribe, methods=["GET", "POST"]),
        Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
        Route("/digests/{day}", web_digest),
        Route("/health", health),
        Route("/admin/login", login, methods=["GET", "POST"]),
        Route("/admin/logout", logout, methods=["POST", "GET"]),
        Route("/admin", admin(dashboard)),
        Route("/admin/subscribers", admin(subscribers_page), methods=["GET", "POST"]),
        Route("/admin/preview", admin(preview_page)),
        Route("/admin/test", admin(test_send), methods=["POST"]),
        Route("/admin/send", admin(send_page), methods=["GET", "POST"]),
        Route("/admin/log", admin(log_page)),
        # The pages' stylesheet lives with their templates, so a restyled copy (templates_dir) brings its own.
        Mount(
            "/static", StaticFiles(directory=templates_dir(settings.templates_dir) / "web" / "static", check_dir=False)
        ),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if scheduler:
            svc.pool = WorkerPool(workers=2)
            svc.scheduler = start_scheduler(svc)
        try:
            yield
        finally:
            # SIGTERM: the send thread finishes the message in flight, records it, and stops.
            svc.stop.request("the service is stopping")
            if svc.send_thread is not None:
                await asyncio.to_thread(svc.send_thread.join, 60)
            if svc.scheduler is not None:
                svc.scheduler.shutdown(wait=False)
            svc.sender.close()
            if isinstance(svc.pool, WorkerPool):
                svc.pool.close()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=settings.keys.current,
                session_cookie="digest_session",
                max_age=int(SESSION_TTL.total_seconds()),
                same_site="strict",
                https_only=public_https,
            )
        ],
    )
    # Outermost, around Starlette's own error handling, so that 404s and 500s carry the headers too.
    return SecurityHeaders(app)


def start_scheduler(svc: Service) -> Any:
    settings = svc.settings
    sched = schedule.build_scheduler(settings)
    # APScheduler keeps real time; the first poll runs as soon as the service starts.
    sched.add_job(
        svc.poll_job, schedule.poll_trigger(settings), id="poll", next_run_time=datetime.now(settings.timezone)
    )
    sched.add_job(svc.pre_send_poll_job, schedule.pre_send_poll_trigger(settings), id="pre-send-poll")
    sched.add_job(
        svc.send_job,
        schedule.send_trigger(settings),
        id="send",
        misfire_grace_time=int(
            (
                datetime.combine(date(2000, 1, 1), settings.missed_cutoff)
                - datetime.combine(date(2000, 1, 1), settings.send_time)
            ).total_seconds()
        ),
    )
    with svc.store() as store:
        status = svc.today_status(store)
    if schedule.catch_up_due(settings, svc.clock(), status):
        log.info("send time passed while the service was down; sending today's digest now")
        sched.add_job(svc.send_job, id="catch-up")  # no trigger: once, now
    sched.start()
    log.info("next send at %s", schedule.next_send(settings, svc.clock()).isoformat())
    return sched


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
