"""The web edge: the routes of the subscriber pages (double opt-in, one-click unsubscribe, web version), the
public archive (its handlers in `archive`), /health for the operator and the editor's admin (its handlers in
`admin`). `create_app` composes them with the service (`service`: jobs, send thread, scheduler) and the
protections (`auth`), all on one event loop (uvicorn + starlette).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
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
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from . import auth, daily, schedule
from .admin import AdminPages
from .admin_bounces import BouncePages
from .admin_feeds import FeedPages
from .admin_items import ItemPages
from .admin_log import LogPages
from .admin_subscribers import SubscriberPages
from .archive import ArchivePages
from .clock import Clock, utcnow
from .config import Settings
from .csp import SecurityHeaders, email_policy
from .deliver import Sender
from .errors import ConfigError, DigestError, InputError, SubscriberError
from .messages import renderer
from .preferences import describe, followed, offer, you_get
from .reader_pages import PreferencePages
from .render import RECIPIENT, environment, templates_dir
from .service import Service
from .store import Store
from .subscribers import Editor, normalise_email, normalise_name
from .web_webhooks import Webhooks

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


class _Followed:
    """The sources the list follows, by name, as the pages say them: read at each page, so a feed the admin adds
    or disables is named (or not) at once."""

    def __init__(self, svc: Service) -> None:
        self.svc = svc

    def __str__(self) -> str:
        return followed(self.svc.settings.feeds)


class Pages:
    """The routes' handlers, over one Service."""

    def __init__(self, svc: Service) -> None:
        self.svc = svc
        self.env: Environment = environment(svc.settings.templates_dir)
        self.env.filters["local"] = lambda when: schedule.shown(svc.settings, when)  # the schedule's timezone
        # The send time and the choice of daily or weekly, as the home, subscribe and confirm pages offer them.
        self.env.globals["offer"] = offer(svc.settings.send_time, svc.settings.timezone)
        self.env.globals["sources"] = _Followed(svc)
        self.env.filters["gets"] = lambda sub: describe(  # what a reader gets, as the admin's list shows it
            sub,
            send_time=svc.settings.send_time,
            timezone=svc.settings.timezone,
            today=daily.digest_day(svc.settings, svc.clock()),
        )

    def page(self, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        for optional in ("link", "link_text", "error", "error_field", "email", "message", "csrf"):
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
                "subscribe",
                400,
                csrf=auth.csrf(request),
                error=f"That name cannot be used: {exc}.",
                error_field="name",
                email=email,
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
        loaded = await svc.subscribers()
        if loaded.find(email) is None:
            try:
                # file I/O and a lock: off the loop; the list as the edit left it, read once by the edit
                loaded = await asyncio.to_thread(Editor(loaded).add, email, name)
            except SubscriberError as exc:
                log.error("confirm %s: %s", email, exc)
                return self.page(
                    "message", 409, title="Please try again", text="The list was busy; try the link again."
                )
        sub = loaded.find(email)
        gets = (
            you_get(sub, send_time=settings.send_time, timezone=settings.timezone)
            if sub
            else "everything new, every day"
        )
        return self.page(
            "message",
            title="You are subscribed",
            text=f"{email} will receive {settings.list_name}: {gets}. You can choose daily or weekly, and what "
            "it carries, at any time.",
            link=daily.preferences_url(settings, email),
            link_text="Change what you get",
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
            digest = daily.run_digest(settings, store, run, day)
        # A page, not an email: every item in full, and a link to subscribe where the email has its footer.
        html = renderer(settings).render(digest, web=True).html.replace(RECIPIENT, "")
        return HTMLResponse(html, headers={"Content-Security-Policy": email_policy(html)})

    async def health(self, request: Request) -> Response:
        body, ok = self.svc.health(self.svc.reader(), self.svc.clock())
        return JSONResponse(body, status_code=200 if ok else 503)


def create_app(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    sender: Sender | None = None,
    scheduler: bool = False,
    sns_certificate: Callable[[str], bytes] | None = None,
    sns_confirm: Callable[[str], None] | None = None,
) -> ASGIApp:
    """`sns_certificate`: how to get Amazon SNS's signing certificate by URL; `sns_confirm`: how to open an SNS
    SubscribeURL (tests give their own of each)."""
    svc = Service(settings, clock=clock, sender=sender)
    if sns_certificate is not None:
        svc.sns_certificate = sns_certificate
    if sns_confirm is not None:
        svc.sns_confirm = sns_confirm
    pages = Pages(svc)
    admin_pages = AdminPages(svc, pages.page)
    reader_pages = PreferencePages(svc, pages.page)
    feeds = FeedPages(svc, pages.page)
    items = ItemPages(svc, pages.page)
    log_pages = LogPages(svc, pages.page)
    subscribers = SubscriberPages(svc, pages.page)
    bounces = BouncePages(svc, pages.page)
    archive = ArchivePages(svc, pages.page)
    stored_hash = os.environ.get(settings.admin_password_env)
    if not stored_hash:  # the pages answer, but only with "no admin password is set": say so once, at start
        log.warning(
            "$%s is not set, so the admin (/admin) is unavailable; set it to the output of `digest hash-password`",
            settings.admin_password_env,
        )
    elif problem := auth.hash_problem(stored_hash):
        log.warning("$%s cannot be used, so no one can log in to the admin: %s", settings.admin_password_env, problem)
    public_https = settings.public_url.startswith("https://")

    def admin(handler: auth.Handler) -> auth.Handler:
        return auth.admin_only(handler, admin_pages.signed_in)

    routes = [
        # First: monitors ask every few seconds, and Starlette tries the routes in order (fourteen misses were a
        # tenth of what /health cost). No other route's pattern can match it.
        Route("/health", pages.health),
        Route("/", pages.home),
        Route("/subscribe", pages.subscribe, methods=["GET", "POST"]),
        Route("/confirm/{token}", pages.confirm, methods=["GET", "POST"]),
        Route("/unsubscribe", pages.unsubscribe, methods=["GET", "POST"]),
        Route("/unsubscribe/{token}", pages.unsubscribe, methods=["GET", "POST"]),
        Route("/preferences", reader_pages.preferences, methods=["GET", "POST"]),
        Route("/preferences/{token}", reader_pages.preferences, methods=["GET", "POST"]),
        Route("/digests", archive.digests),
        Route("/digests.atom", archive.feed),
        Route("/digests/week/{day}", archive.week),
        Route("/digests/{day}", pages.web_digest),
        Route("/items/{item_id}", archive.item),
        Route("/search", archive.search),
        Route("/ratings", archive.ratings),
        Route("/webhooks/{provider}", Webhooks(svc).receive, methods=["POST"]),
        Route("/admin/login", admin_pages.login, methods=["GET", "POST"]),
        Route("/admin/logout", admin_pages.logout, methods=["POST", "GET"]),
        Route("/admin", admin(admin_pages.dashboard)),
        Route("/admin/feeds", admin(feeds.list_page)),
        Route("/admin/feeds/check", admin(feeds.check_page), methods=["POST"]),
        Route("/admin/feeds/add", admin(feeds.add), methods=["POST"]),
        Route("/admin/feeds/edit", admin(feeds.edit), methods=["GET", "POST"]),
        Route("/admin/feeds/enabled", admin(feeds.enable), methods=["POST"]),
        Route("/admin/feeds/poll", admin(feeds.poll), methods=["POST"]),
        Route("/admin/items", admin(items.items_page), methods=["GET", "POST"]),
        Route("/admin/subscribers", admin(subscribers.list_page), methods=["GET", "POST"]),
        Route("/admin/subscriber", admin(subscribers.detail)),
        Route("/admin/bounces", admin(bounces.bounces_page), methods=["GET", "POST"]),
        Route("/admin/preview", admin(admin_pages.preview_page)),
        Route("/admin/test", admin(admin_pages.test_send), methods=["POST"]),
        Route("/admin/send", admin(admin_pages.send_page), methods=["GET", "POST"]),
        Route("/admin/log", admin(log_pages.log_page)),
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

    async def unreadable(request: Request, exc: Exception) -> Response:
        """A settings or subscribers file that cannot be read (a hand edit gone wrong): the page says so, and the
        editor is told which file, line and field; a reader is not shown the server's files."""
        log.error("%s %s: %s", request.method, request.url.path, exc)
        if request.url.path.startswith("/admin"):  # only reached signed in: the admin's wrapper checks first
            text = f"{exc} Fix the file and reload this page; nothing was changed."
        else:
            text = "This page cannot be shown just now. Nothing was changed; please try again later."
        response = pages.page("message", 503, title="The list cannot be read", text=text)
        response.headers["Retry-After"] = "300"
        return response

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={ConfigError: unreadable},
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
    # The database opened (and migrated) once here: a file that cannot be used is one line naming it, before the
    # server starts, not a traceback from its start-up and uvicorn's exit code 3 (which `digest` gives to a lock).
    Store(settings.database).close()
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
