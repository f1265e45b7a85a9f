"""The reader's preferences page (`/preferences/{token}`, the signed link in every email's footer): kinds,
sources, regions, daily or weekly, a pause. Saved into the subscribers YAML the editor owns, round-trip under its
lock. `/preferences` without a link (the web version's footer) emails the address its link.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from email.utils import make_msgid
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from . import auth, daily, messages, preferences
from .errors import DigestError, InputError, SubscriberError
from .models import KINDS, NATIONAL, WEEKDAYS, YOUTH_JUSTICE, Subscriber
from .service import Service
from .store_bounces import Suppression
from .subscribers import Editor, normalise_email

log = logging.getLogger("digest")
Page = Callable[..., HTMLResponse]
_READERS_OWN = frozenset({"unsubscribed", "complained"})  # stops the reader chose, so may undo
_STOPPED = {
    "unsubscribed": "You are unsubscribed",
    "complained": "You are unsubscribed: your mail service reported our email as unwanted",
    "manual": "The editor has stopped sending to this address",
}
_REFUSED = "Nothing is sent to you: your mail server refused our email"
_REGION_LABELS = {
    NATIONAL: "National: national bodies, and everything about no one place",
    YOUTH_JUSTICE: "Youth justice services, wherever they are",
}


class PreferencePages:
    def __init__(self, svc: Service, page: Page) -> None:
        self.svc = svc
        self.page = page

    def _stopped(self, email: str) -> Suppression | None:
        """Why nothing is sent to the reader (they unsubscribed, their server refused it), or None: they get it."""
        with self.svc.store() as store:
            return store.suppression_details().get(email.lower())

    def _form(
        self,
        request: Request,
        sub: Subscriber,
        token: str,
        code: int = 200,
        choices: preferences.Choices | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """The page; `choices`: the boxes to show ticked, when not the reader's saved ones (a form sent back)."""
        settings = self.svc.settings
        feeds = [f.name for f in settings.feeds]
        today = daily.digest_day(settings, self.svc.clock())
        context.setdefault("saved", False)
        context.setdefault("resubscribed", False)
        stopped = self._stopped(sub.email)
        return self.page(
            "preferences",
            code,
            csrf=auth.csrf(request),
            email=sub.email,
            token=token,
            stopped=_STOPPED.get(stopped.reason, _REFUSED) if stopped else None,
            stopped_on=f"{stopped.created:%-d %B %Y}" if stopped else None,
            can_resubscribe=stopped is not None and stopped.reason in _READERS_OWN,
            you_get=preferences.you_get(sub, send_time=settings.send_time, timezone=settings.timezone),
            paused_until=f"{sub.paused_until:%A %-d %B %Y}" if preferences.paused(sub, today) else None,
            choices=choices or preferences.choices(sub, feeds),
            kinds=KINDS,
            kind_labels=preferences.KIND_LABELS,
            sources=feeds,
            regions=preferences.REGION_CHOICES,
            region_labels=_REGION_LABELS,
            weekdays=WEEKDAYS,
            send_time=settings.send_time.strftime("%H:%M"),
            unsubscribe_url=daily.unsubscribe_url(settings, sub.email),
            **context,
        )

    async def preferences(self, request: Request) -> Response:
        settings = self.svc.settings
        token = request.path_params.get("token")
        if token is None:
            return await self.ask(request) if request.method == "POST" else self._ask_page(request)
        email = daily.tokens(settings).read_preferences(token)
        if email is None:
            return self._ask_page(
                request,
                400,
                title="This link is not valid",
                text="It may have been cut short or changed on its way. Give your address and we will email you a "
                "link to your preferences.",
            )
        loaded = await self.svc.subscribers()
        sub = loaded.find(email)
        if sub is None:
            return self.page(
                "message",
                404,
                title="This address is not on the list",
                text=f"{email} does not receive {settings.list_name}. You can subscribe again at any time.",
                link=f"{settings.public_url}/subscribe",
            )
        if request.method == "GET":
            return self._form(request, sub, token)
        form = await request.form()
        if not auth.csrf_ok({"csrf": str(form.get("csrf", ""))}, request):
            return self.page("message", 403, title="Please try again", text="The form expired. Reload and resend.")
        if form.get("action") == "resubscribe":
            return self._resubscribe(request, sub, token)
        answers = {k: [str(v) for v in form.getlist(k)] for k in form}
        today = daily.digest_day(settings, self.svc.clock())
        try:
            chosen = preferences.from_form(sub, answers, feeds=[f.name for f in settings.feeds], today=today)
        except InputError as exc:
            shown = preferences.answered(sub, answers, [f.name for f in settings.feeds])  # what they sent, again
            return self._form(request, sub, token, 400, error=str(exc), choices=shown)
        try:
            await asyncio.to_thread(Editor(loaded).set_preferences, chosen)  # file I/O and a lock: off the loop
        except SubscriberError as exc:
            log.error("preferences of %s: %s", email, exc)
            return self._form(request, sub, token, 409, error="The list was busy and nothing was saved; try again.")
        return self._form(request, chosen, token, saved=True)

    def _resubscribe(self, request: Request, sub: Subscriber, token: str) -> HTMLResponse:
        """The reader's own "Subscribe me again": the signed link proves the address is theirs, so no second
        confirmation email is needed. Only their own stop (an unsubscribe, a spam report) is theirs to undo; a
        refusal by their mail server is the editor's to lift."""
        stopped = self._stopped(sub.email)
        if stopped is not None and stopped.reason not in _READERS_OWN:
            return self._form(request, sub, token, 409, error="Only the editor can start sending here again.")
        if stopped is not None:
            with self.svc.store() as store:
                store.unsuppress(sub.email)
            log.info("%s subscribed again from their preferences link", sub.email)
        return self._form(request, sub, token, resubscribed=True)

    def _ask_page(self, request: Request, code: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("title", "Change what you get")
        context.setdefault(
            "text",
            "Use the link at the foot of any digest email, or give your address and we will email you a link to "
            "your preferences.",
        )
        return self.page("preferences-request", code, csrf=auth.csrf(request), **context)

    async def ask(self, request: Request) -> Response:
        svc = self.svc
        fields = await auth.form(request)
        if not auth.csrf_ok(fields, request):
            return self.page("message", 403, title="Please try again", text="The form expired. Reload and resend.")
        try:
            email = normalise_email(fields.get("email", ""))
        except InputError:
            return self._ask_page(
                request, 400, error="That does not look like an email address.", email=fields.get("email", "")
            )
        sent = self.page(
            "message",
            title="Check your inbox",
            text=f"If {email} receives {svc.settings.list_name}, an email with a link to its preferences is on its "
            "way.",
        )
        if fields.get("website"):  # a honeypot field people never see
            return sent
        if not (
            svc.unsubscribe_per_client.hit(auth.client(request)) and svc.unsubscribe_per_address.hit(email.lower())
        ):
            return self.page("message", 429, title="Too many requests", text="Please try again in an hour.")
        # After the response, so that it is the same, and as quick, whether or not the address is on the list.
        sent.background = BackgroundTask(self._send_link, email)
        return sent

    def _send_link(self, email: str) -> None:
        """Mail the link if the address is on the list and still receives the digest; otherwise nothing."""
        svc = self.svc
        try:
            if svc.subscriber_list.get().find(email) is None:
                return
            with svc.store() as store:
                if email.lower() in store.suppressions():
                    return
            link = daily.preferences_url(svc.settings, email)
            msgid = make_msgid(domain=svc.settings.domain)
            svc.sender.send(messages.preferences_link(svc.settings, email, link, date=svc.clock(), message_id=msgid))
        except DigestError as exc:
            log.error("preferences link to %s failed: %s", email, exc)
