"""Security headers on every response of the web app: a strict Content-Security-Policy (no script may run at all),
no MIME sniffing, no Referer sent anywhere, and no framing by another site.

`SecurityHeaders` is a pure-ASGI middleware that wraps the whole app, outside Starlette's error handling, so 404s
and 500s carry the headers too. A response may bring its own policy (the web version of a digest, whose CSS is
inline as mail clients need it: `email_policy`); the middleware keeps it and adds the rest.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The site's pages: CSS from /static only, the admin's preview frame, forms posting back here; nothing else.
SITE_POLICY = (
    "default-src 'none'; style-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_SITE_POLICY = SITE_POLICY.encode("latin-1")
_ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.IGNORECASE | re.DOTALL)


def email_policy(html: str, *, framed_by_self: bool = False) -> str:
    """The policy for a rendered email shown as a page: its <style> blocks by their hashes, its style attributes
    (an email's CSS must be inline, and an attribute can hold neither a selector nor a script), nothing else.
    `framed_by_self` lets the admin's preview page show it in a frame."""
    hashes = " ".join(f"'sha256-{_sha256(css)}'" for css in _STYLE.findall(html)) or "'none'"
    ancestors = "'self'" if framed_by_self else "'none'"
    return (
        f"default-src 'none'; style-src-elem {hashes}; style-src-attr 'unsafe-inline'; form-action 'none'; "
        f"base-uri 'none'; frame-ancestors {ancestors}"
    )


def _sha256(css: str) -> str:
    # A browser hashes the element's text after turning CR LF and lone CR into LF, as its parser does.
    text = css.replace("\r\n", "\n").replace("\r", "\n")
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


class SecurityHeaders:
    """Adds the security headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The response's own headers read once (four setdefaults had scanned them four times, a tenth of
                # a /health request), the missing ones added as they will be sent.
                raw = [(bytes(k), bytes(v)) for k, v in message.get("headers", ())]
                present = {k.lower(): v for k, v in raw}
                policy = present.get(b"content-security-policy")
                if policy is None:
                    policy = _SITE_POLICY
                    raw.append((b"content-security-policy", policy))
                if b"x-frame-options" not in present:
                    # The same rule for browsers that predate frame-ancestors.
                    raw.append((b"x-frame-options", b"SAMEORIGIN" if b"frame-ancestors 'self'" in policy else b"DENY"))
                raw += [(name, value) for name, value in _ALWAYS if name not in present]
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)
