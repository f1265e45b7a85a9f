"""What the admin's pages share: the service, the page renderer, and the confirmation step that every
destructive action goes through (a page with the same form posted again, no script: the policy forbids it)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.requests import Request
from starlette.responses import HTMLResponse

from . import auth
from .service import Service

Page = Callable[..., HTMLResponse]


class AdminBase:
    """The handlers of one admin noun, over one Service, rendering with the web pages' `page`."""

    def __init__(self, svc: Service, page: Page) -> None:
        self.svc = svc
        self.page = page

    @staticmethod
    def confirmed(request: Request) -> bool:
        """Whether this POST is the second step, sent from the confirmation page."""
        return bool(request.state.form.get("confirmed") == "yes")

    def confirm(
        self,
        request: Request,
        *,
        title: str,
        text: str,
        button: str,
        back: str,
        fields: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """The confirmation page: what will happen, and the same form to post again (with confirmed=yes)."""
        form = dict(request.state.form if fields is None else fields)
        form.pop("csrf", None)
        form.pop("confirmed", None)
        return self.page(
            "admin/confirm",
            csrf=auth.csrf(request),
            title=title,
            text=text,
            button=button,
            back=back,
            action=request.url.path,
            fields=form,
        )

    def done(self, request: Request, title: str, text: str, link: str, code: int = 200) -> HTMLResponse:
        """The result of an action, inside the admin (its menu kept)."""
        return self.page("admin/message", code, csrf=auth.csrf(request), title=title, text=text, link=link)
