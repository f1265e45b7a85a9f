"""The admin's and the forms' protections: scrypt password hashes, in-memory rate limits, CSRF tokens, and
sessions whose ids are signed in the cookie but open only while the store has them. Used by the web routes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from .store import Store

SESSION_TTL = timedelta(hours=8)  # an editor's session, from logging in; the cookie lives as long
Handler = Callable[[Request], Awaitable[Response]]


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


# ---- requests: who asks, their form, its CSRF token


def client(request: Request) -> str:
    """Who is asking, for the rate limits and the lock-out: the peer's address, or the address a trusted proxy
    forwarded. uvicorn decides which (run_service: forwarded headers count only from web.trusted_proxies), so
    this and its access log always agree."""
    return request.client.host if request.client else "unknown"


def csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


async def form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


def csrf_ok(fields: dict[str, str], request: Request) -> bool:
    """Whether a posted form carries this session's CSRF token."""
    return hmac.compare_digest(fields.get("csrf", ""), csrf(request))


# ---- sessions


def signed_in(request: Request, store: Store, now: datetime) -> bool:
    """The cookie is signed, but only the database says whether its session is still open (not logged out)."""
    sid = request.session.get("sid")
    return isinstance(sid, str) and store.session_open(sid, now=now)


def sign_in(request: Request, store: Store, now: datetime) -> None:
    """A new session id at every login; the one this browser had before (if any) is closed."""
    sid = secrets.token_urlsafe(32)
    if isinstance(request.session.get("sid"), str):
        store.close_session(request.session["sid"])
    store.open_session(sid, now=now, ttl=SESSION_TTL)
    request.session.clear()
    request.session["sid"] = sid
    request.session["csrf"] = secrets.token_urlsafe(24)


def sign_out(request: Request, store: Store) -> None:
    sid = request.session.get("sid")
    if isinstance(sid, str):
        store.close_session(sid)
    request.session.clear()


def admin_only(handler: Handler, is_signed_in: Callable[[Request], bool]) -> Handler:
    """The handler for signed-in editors only; a POST must also carry the session's CSRF token (the form is
    read once and left in request.state.form)."""

    async def guarded(request: Request) -> Response:
        if not is_signed_in(request):
            request.session.pop("sid", None)
            if request.method != "GET":
                return PlainTextResponse("login required", status_code=401)
            return RedirectResponse(f"/admin/login?next={request.url.path}", status_code=303)
        if request.method == "POST":
            fields = await form(request)
            if not hmac.compare_digest(fields.get("csrf", ""), str(request.session.get("csrf", ""))):
                return PlainTextResponse("missing or wrong CSRF token", status_code=403)
            request.state.form = fields
        return await handler(request)

    return guarded
