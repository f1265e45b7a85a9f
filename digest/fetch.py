"""The HTTP edge: an async fetcher that is polite (bounded concurrency overall and per host), careful
(size limits while streaming, safe addresses only, redirects checked hop by hop) and cache-aware (ETag,
Last-Modified). It returns bytes and headers; parsing is someone else's job.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import mimetypes
import socket
import ssl
from collections import Counter, OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from . import tls
from .clock import Clock, utcnow
from .config import FetchSettings
from .errors import FetchError, UnsafeURLError
from .models import FetchErrorKind, Response

_PERMANENT = {301, 308}
_REDIRECT = {301, 302, 303, 307, 308}
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from now: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def max_age(cache_control: str | None) -> float | None:
    for part in (cache_control or "").split(","):
        name, _, val = part.strip().partition("=")
        if name.lower() == "max-age" and val.strip().isdigit():
            return float(val)
    return None


class MirrorTransport(httpx.AsyncBaseTransport):
    """Serves URLs from a folder laid out as HOST/PATH, for the offline demo. A path ending in / serves
    its index file; ETags are the file's mtime and size, so a second poll gets 304s as from a real server.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def file_for(self, url: httpx.URL) -> Path:
        path = unquote(url.path)
        rel = url.host + (path if path and not path.endswith("/") else path + "index")
        target = (self.root / rel.lstrip("/")).resolve()
        if self.root.resolve() not in target.parents:
            raise FileNotFoundError(rel)
        if target.is_dir():
            target = target / "index"
        return target

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            target = self.file_for(request.url)
            body = target.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return httpx.Response(404, content=b"not in the mirror", request=request)
        st = target.stat()
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"etag": etag}, request=request)
        ctype = _mirror_type(target, body)
        return httpx.Response(200, headers={"content-type": ctype, "etag": etag}, content=body, request=request)


def _mirror_type(target: Path, body: bytes) -> str:
    head = body[:300].lstrip().lower()
    if head.startswith(b"%pdf"):
        return "application/pdf"
    if head.startswith(b"<?xml") or head.startswith(b"<rss") or head.startswith(b"<feed"):
        return "application/xml; charset=utf-8"
    guessed = mimetypes.guess_type(target.name)[0]
    return guessed or "text/html; charset=utf-8"


class Fetcher:
    """Fetches URLs over pooled httpx clients, one a host. Use as an async context manager.

    One pool a host, not one for all: before each request httpx looks at every connection in its pool (a system
    call each, to see whether an idle one was closed), so one pool of 20 connections across 20 hosts cost the
    event loop about 1.5 ms a request, and its connections went from host to host. A host's pool holds at most
    `per_host` connections; the pools of the hosts least recently used are closed once more than `concurrency`
    hosts have one."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utcnow,
        contact: str = "",
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._mirror = transport is None and settings.mirror_dir is not None
        if self._mirror:
            assert settings.mirror_dir is not None
            transport = MirrorTransport(settings.mirror_dir)
        self._transport = transport
        self._agent = settings.user_agent + (f" (+{contact})" if contact else "")
        self._clients: OrderedDict[str, httpx.AsyncClient] = OrderedDict()  # the least recently used first
        self._busy: Counter[str] = Counter()
        self._retired: list[httpx.AsyncClient] = []  # pools leaving the table, closed as soon as may be
        self._verify: ssl.SSLContext | bool | None = None
        self._total = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._allowed = [_network(a) for a in settings.allow_private]

    def _pool_key(self, host: str) -> str:
        """Which pool serves a host: its own, or, through a transport of our own (the demo's mirror, a test's),
        the one client every host shares."""
        return host if self._transport is None else ""

    def _client_for(self, url: str, key: str) -> httpx.AsyncClient:
        """The pool's client, made on its first request (a poll with nothing due makes none). It checks servers
        with the process's TLS context (see `tls`), read on a thread while the command started."""
        client = self._clients.get(key)
        if client is not None:
            self._clients.move_to_end(key)
            return client
        if self._verify is None:
            self._verify = True  # a transport of our own needs none
            if self._transport is None:
                try:
                    self._verify = tls.context()
                except tls.TlsError as exc:
                    self._verify = None
                    raise FetchError(str(exc), url=url, kind="local") from None
        settings = self.settings
        per_host = settings.per_host if self._transport is None else settings.concurrency
        client = self._clients[key] = httpx.AsyncClient(
            transport=self._transport,
            verify=self._verify,
            timeout=httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout)),
            follow_redirects=False,
            headers={"user-agent": self._agent, "accept-encoding": "gzip, deflate"},
            limits=httpx.Limits(max_connections=per_host, max_keepalive_connections=per_host),
        )
        return client

    async def _close_idle(self) -> None:
        """Close the pools of the hosts least recently used, beyond `concurrency` of them, that have no request
        under way. They leave the table before the first await, so two requests ending together never close
        one twice; one whose closing was interrupted is closed with the fetcher."""
        spare = len(self._clients) - self.settings.concurrency
        victims = []
        for key in [key for key in list(self._clients)[: max(0, spare)] if not self._busy[key]]:
            del self._busy[key]
            victims.append(self._clients.pop(key))
        self._retired += victims
        for client in victims:
            await client.aclose()
            if client in self._retired:  # the fetcher may have ended meanwhile, and closed it with the rest
                self._retired.remove(client)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        clients, self._clients = [*self._retired, *self._clients.values()], OrderedDict()
        self._retired = []
        for client in clients:
            await client.aclose()

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None, accept: str = "*/*"
    ) -> Response:
        """GET a URL; follow redirects one hop at a time, checking each. Raises FetchError."""
        headers = {"accept": accept}
        if etag:
            headers["if-none-match"] = etag
        if last_modified:
            headers["if-modified-since"] = last_modified
        seen: set[str] = set()
        current = url
        permanent = True
        for _hop in range(self.settings.max_redirects + 1):
            if current in seen:
                raise FetchError("redirect loop", url=url, kind="redirect-loop")
            seen.add(current)
            await self._check_safe(current)
            response = await self._get_once(current, headers)
            if response.status in _REDIRECT:
                location = response.headers.get("location")
                if not location:
                    raise FetchError(
                        f"HTTP {response.status} without a Location",
                        url=url,
                        kind="http",
                        status=response.status,
                    )
                permanent = permanent and response.status in _PERMANENT
                try:
                    current = urljoin(current, location)
                    urlsplit(current).port  # noqa: B018 -- reading it raises for a port that is no number
                except ValueError:
                    raise FetchError(
                        f"HTTP {response.status} to an address that cannot be read: {location[:200]!r}",
                        url=url,
                        kind="http",
                        status=response.status,
                    ) from None
                continue
            moved = current if permanent and current != url else None
            return Response(
                url=current,
                status=response.status,
                headers=response.headers,
                content=response.content,
                fetched_at=response.fetched_at,
                moved_to=moved,
            )
        raise FetchError(f"more than {self.settings.max_redirects} redirects", url=url, kind="too-many-redirects")

    async def _get_once(self, url: str, headers: dict[str, str]) -> Response:
        host = urlsplit(url).hostname or ""
        per_host = self._hosts.setdefault(host, asyncio.Semaphore(self.settings.per_host))
        limit = self.settings.max_bytes
        deadline = self.settings.deadline
        # Host first: a request waiting for its host must not hold one of the global slots meanwhile.
        async with per_host, self._total:
            key = self._pool_key(host)
            self._busy[key] += 1
            try:
                # The deadline starts once the request has its slot; a trickling server cannot hold it longer.
                client = self._client_for(url, key)
                async with asyncio.timeout(deadline), client.stream("GET", url, headers=headers) as r:
                    declared = r.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > limit and r.status_code == 200:
                        raise FetchError(
                            f"body of {int(declared):,} bytes is over the {limit:,}-byte limit",
                            url=url,
                            kind="too-large",
                        )
                    chunks: list[bytes] = []
                    size = 0
                    if r.status_code == 200:
                        # Counted after decompression, so a gzip bomb stops at the limit too.
                        async for chunk in r.aiter_bytes():
                            size += len(chunk)
                            if size > limit:
                                raise FetchError(f"body is over the {limit:,}-byte limit", url=url, kind="too-large")
                            chunks.append(chunk)
                    now = self.clock()
                    out_headers = {k.lower(): v for k, v in r.headers.items()}
                    status = r.status_code
            except FetchError:
                raise
            except TimeoutError as exc:
                raise FetchError(
                    f"no complete answer within the {deadline:g}-second deadline", url=url, kind="timeout"
                ) from exc
            except httpx.TimeoutException as exc:
                raise FetchError(f"timed out ({type(exc).__name__})", url=url, kind="timeout") from exc
            except httpx.ConnectError as exc:
                text = str(exc)
                kind: FetchErrorKind = "dns" if "Name or service not known" in text or "nodename" in text else "connect"
                raise FetchError(f"cannot connect: {text or type(exc).__name__}", url=url, kind=kind) from exc
            except httpx.DecodingError as exc:
                raise FetchError(f"cannot decode the body: {exc}", url=url, kind="decode") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"{type(exc).__name__}: {exc}", url=url, kind="network") from exc
            finally:
                self._busy[key] -= 1
            if len(self._clients) > self.settings.concurrency:
                await self._close_idle()
        if status == 304 or status in _REDIRECT or 200 <= status < 300:
            return Response(url=url, status=status, headers=out_headers, content=b"".join(chunks), fetched_at=now)
        retry = parse_retry_after(out_headers.get("retry-after"), now) if status in (429, 503) else None
        gone: FetchErrorKind = "gone" if status == 410 else "http"
        raise FetchError(f"HTTP {status}", url=url, kind=gone, status=status, retry_after=retry)

    async def _check_safe(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 -- reading it raises for a port that is no number
        except ValueError as exc:
            raise UnsafeURLError(f"an address that cannot be read: {exc}", url=url, kind="unsafe") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UnsafeURLError(
                f"refusing a {parts.scheme or 'relative'} URL; only http and https", url=url, kind="unsafe"
            )
        if self._mirror:
            return  # the mirror never touches the network
        host = parts.hostname
        if self._host_allowed(host, None):
            return
        try:
            ip = ipaddress.ip_address(host)
            addresses = [ip]
        except ValueError:
            loop = asyncio.get_running_loop()
            try:
                # Bounded like the request itself: a resolver that never answers must not stall a poll.
                infos = await asyncio.wait_for(
                    loop.getaddrinfo(
                        host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
                    ),
                    timeout=self.settings.timeout,
                )
            except TimeoutError as exc:
                raise FetchError(
                    f"cannot resolve {host}: no answer in {self.settings.timeout:g} s", url=url, kind="dns"
                ) from exc
            except OSError as exc:
                raise FetchError(f"cannot resolve {host}: {exc}", url=url, kind="dns") from exc
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        for ip in addresses:
            if _private(ip) and not self._host_allowed(host, ip):
                raise UnsafeURLError(
                    f"refusing {host}: it resolves to a non-public address ({ip})", url=url, kind="unsafe"
                )

    def _host_allowed(self, host: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        for allowed in self._allowed:
            if isinstance(allowed, str):
                if host == allowed:
                    return True
            elif ip is not None and ip in allowed:
                return True
        return False


def _network(spec: str) -> str | ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(spec, strict=False)
    except ValueError:
        return spec


def _private(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip in _METADATA
        or ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )
