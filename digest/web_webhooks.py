"""The web edge for relays' webhooks: `POST /webhooks/<provider>` (Mailgun, Postmark, SendGrid, Amazon SES via
SNS). The request is checked by `webhooks.verify` (signature, age), a replay is refused by its key, and each
event goes through the bounce policy as a bounce from any other way in would."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from .bounce_policy import processor_for
from .errors import DigestError
from .service import Service
from .webhooks import Verified, WebhookError, verify

log = logging.getLogger("digest")
MAX_BODY = 1_000_000  # a relay's batch is far smaller; anything bigger is not one


class Webhooks:
    def __init__(self, svc: Service) -> None:
        self.svc = svc

    async def receive(self, request: Request) -> Response:
        svc = self.svc
        provider = request.path_params["provider"]
        settings = svc.settings.bounces.webhooks
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            return PlainTextResponse("too large", status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("too large", status_code=413)
        headers = {k.lower(): v for k, v in request.headers.items()}
        now = svc.clock()
        try:
            verified = await asyncio.to_thread(
                verify,
                provider,
                body,
                headers,
                settings,
                now=now,
                secrets=os.environ,
                certificate=svc.sns_certificate,
            )
        except WebhookError as exc:
            log.warning("webhook %s refused (%d): %s", provider, exc.status, exc)
            return PlainTextResponse(f"refused: {exc}", status_code=exc.status)
        if verified.confirm:
            # Before the message is recorded: if SNS cannot be reached, a 503 makes it send the confirmation
            # again, which a recorded one would refuse as a replay. Confirming twice is harmless.
            try:
                await asyncio.to_thread(svc.sns_confirm, verified.confirm)
            except DigestError as exc:
                line = f"{verified.note}: could not confirm ({exc}); SNS will try again, or open {verified.confirm}"
                log.warning("webhook %s: %s", provider, line)
                return PlainTextResponse(line + "\n", status_code=503)
        lines = await asyncio.to_thread(self._record, provider, verified, keep=timedelta(seconds=2 * settings.max_age))
        if lines is None:
            log.warning("webhook %s refused (409): a replay of %s", provider, verified.replay_key)
            return PlainTextResponse("refused: already received (a replay)", status_code=409)
        if verified.confirm:
            lines[0] += ": confirmed"
        for line in lines:
            log.info("webhook %s: %s", provider, line)
        return PlainTextResponse("\n".join(lines) + "\n" if lines else "ok\n")

    def _record(self, provider: str, verified: Verified, *, keep: timedelta) -> list[str] | None:
        """The lines saying what became of each event; None for a replay."""
        svc = self.svc
        with svc.store() as store:
            if not store.first_sight(provider, verified.replay_key, now=svc.clock(), keep=keep):
                return None
            processor = processor_for(svc.settings, store, source=f"webhook:{provider}")
            lines = [verified.note] if verified.note else []
            for e in verified.events:
                outcome = processor.event(
                    e.email, e.kind, status=e.status, evidence=e.evidence, notice_id=e.event_id, now=svc.clock()
                )
                lines.append(outcome.line())
            return lines
