"""The admin's subscriber pages: the list (search, add, remove and un-suppress, each destructive action
confirmed first) and one subscriber's detail: status, preferences as stored, and their delivery history."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from . import auth, daily, next_email, preferences
from .admin_base import AdminBase
from .errors import DigestError
from .models import WEEKDAYS
from .subscribers import Editor

HISTORY = 30  # deliveries shown on a subscriber's page


class SubscriberPages(AdminBase):
    async def list_page(self, request: Request) -> Response:
        svc = self.svc
        settings = self.svc.settings
        message, code = "", 200
        if request.method == "POST":
            form = request.state.form
            action, email = form.get("action"), form.get("email", "").strip()
            if action == "remove" and not self.confirmed(request):
                return self.confirm(
                    request,
                    title=f"Remove {email}?",
                    text=f"{email} will be taken off the list in {settings.subscribers_file.name} and will not "
                    "get the digest again unless added back.",
                    button=f"Remove {email}",
                    back="/admin/subscribers",
                )
            if action == "unsuppress" and not self.confirmed(request):
                return self.confirm(
                    request,
                    title=f"Send to {email} again?",
                    text=f"{email} is suppressed (they unsubscribed, or their server refused the address). "
                    "Lift it only if they asked to receive the digest again.",
                    button="Lift the suppression",
                    back="/admin/subscribers",
                )
            try:
                loaded = await svc.subscribers()
                if action == "add":
                    await asyncio.to_thread(Editor(loaded).add, email, form.get("name") or None)
                    with svc.store() as store:
                        store.unsuppress(email)
                    message = f"Added {email}."
                elif action == "remove":
                    await asyncio.to_thread(Editor(loaded).remove, email)
                    message = f"Removed {email}."
                elif action == "unsuppress":
                    with svc.store() as store:
                        store.unsuppress(email)
                    message = f"{email} will receive the digest again."
            except (DigestError, ValueError) as exc:
                message, code = f"Not done: {exc}", 400
        q = request.query_params.get("q", "").strip().lower()
        subs = (await svc.subscribers()).subscribers
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

    async def detail(self, request: Request) -> Response:
        """One subscriber: address, name, status, preferences as the file has them, deliveries from the log."""
        email = request.query_params.get("email", "").strip()
        subscriber = (await self.svc.subscribers()).find(email)
        if subscriber is None:
            return self.done(request, "Not on the list", f"{email} is not a subscriber.", "/admin/subscribers", 404)
        settings = self.svc.settings
        now = self.svc.clock()
        with self.svc.store() as store:
            suppressed = store.suppressions().get(subscriber.email.lower())
            history, total = store.delivery_log(email=subscriber.email, limit=HISTORY)
            nxt = next_email.for_reader(settings, store, subscriber, now=now)
        today = daily.digest_day(settings, now)
        return self.page(
            "admin/subscriber",
            csrf=auth.csrf(request),
            s=subscriber,
            gets=preferences.describe(
                subscriber, send_time=settings.send_time, timezone=settings.timezone, today=today
            ),
            paused=preferences.paused(subscriber, today),
            weekday=WEEKDAYS[subscriber.weekday].title(),
            send_time=f"{settings.send_time:%H:%M}",
            next_email=nxt,
            suppressed=suppressed,
            history=history,
            total=total,
        )
