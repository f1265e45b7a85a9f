"""The admin's bounces page: who is suppressed and why (reason, evidence, date), the bounces as they came back,
and lifting a suppression, confirmed first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from . import auth
from .admin_base import AdminBase


class BouncePages(AdminBase):
    async def bounces_page(self, request: Request) -> Response:
        svc = self.svc
        message, code = "", 200
        if request.method == "POST":
            email = request.state.form.get("email", "").strip()
            if not self.confirmed(request):
                return self.confirm(
                    request,
                    title=f"Send to {email} again?",
                    text=f"{email} is suppressed: the digest does not go there. Lift it only when you know the "
                    "address works again (or they asked for the digest again).",
                    button="Lift the suppression",
                    back="/admin/bounces",
                )
            with svc.store() as store:
                lifted = store.unsuppress(email)
            message = f"{email} will receive the digest again." if lifted else f"{email} was not suppressed."
        q = request.query_params.get("q", "").strip().lower()
        kind = request.query_params.get("kind", "")
        kind = kind if kind in ("hard", "soft", "complaint") else ""
        with svc.store() as store:
            suppressed = [s for s in store.suppression_details().values() if q in s.email]
            bounces = store.bounces(kind=kind or None, q=q, limit=200)
        return self.page(
            "admin/bounces",
            code,
            csrf=auth.csrf(request),
            suppressed=suppressed,
            bounces=bounces,
            q=q,
            kind=kind,
            message=message,
        )
