"""The admin's delivery log: each digest's tally, and every recipient's delivery (status, time in the schedule's
time zone, the server's reply), filtered by status, digest and a part of the address, a page at a time."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from . import auth
from .admin_base import AdminBase
from .models import DeliveryState
from .web_params import clamped, page_number

PAGE = 50
STATES: tuple[DeliveryState, ...] = ("sent", "failed", "suppressed", "pending", "sending")


class LogPages(AdminBase):
    async def log_page(self, request: Request) -> Response:
        svc = self.svc
        q = request.query_params
        state = q.get("status", "")
        run_key = q.get("run", "")
        email = q.get("email", "").strip()
        page = page_number(q.get("page"))
        running = svc.send_thread is not None and svc.send_thread.is_alive()
        with svc.store() as store:
            runs = store.recent_runs(30)
            rows, total, page = clamped(
                page,
                PAGE,
                lambda limit, offset: store.delivery_log(
                    states=[s for s in STATES if s == state],
                    run_key=run_key or None,
                    address_contains=email or None,
                    limit=limit,
                    offset=offset,
                ),
            )

        def link(to: int) -> str:
            kept = {k: v for k, v in (("status", state), ("run", run_key), ("email", email)) if v}
            return "/admin/log?" + urlencode({**kept, "page": to})

        return self.page(
            "admin/log",
            csrf=auth.csrf(request),
            runs=runs,
            running=running,
            last_send=svc.last_send,
            rows=rows,
            total=total,
            states=STATES,
            state=state,
            run_key=run_key,
            email=email,
            page=page,
            newer=link(page - 1) if page > 1 else None,
            older=link(page + 1) if page * PAGE < total else None,
            first=(page - 1) * PAGE + 1,
        )
