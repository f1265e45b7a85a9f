"""Reading mail that comes back: one classifier for delivery status notifications (RFC 3464), feedback reports
(RFC 5965) and the common bounces that follow neither (Exim, qmail, Yahoo), told apart from auto-replies and
people's replies. Pure: bytes in, a frozen `Bounce` out; what to do about it is `bounce_policy`'s business.

Kinds: `hard` (the address is dead: 5.x.x), `soft` (4.x.x, a full mailbox, a policy block: try again, count it),
`complaint` (the reader marked us as spam), `delayed` (a warning: the relay is still trying), and `none`
(an auto-reply, a person's reply, anything that is not about delivery). Every result carries its evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from typing import Literal

Kind = Literal["hard", "soft", "complaint", "delayed", "none"]
Shape = Literal["dsn", "arf", "text", "auto-reply", "other"]

# Headers that say where the notice itself was delivered: the VERP return path shows up in one of them.
_ENVELOPE_HEADERS = ("X-Original-To", "Delivered-To", "Envelope-To", "X-Envelope-To", "To")


@dataclass(frozen=True)
class Bounce:
    kind: Kind
    shape: Shape
    recipient: str | None  # the address that bounced or complained, as the notice names it (lower-cased)
    status: str | None  # the enhanced status code, "5.1.1"
    evidence: str  # the line that decided it: a Diagnostic-Code, a Feedback-Type, a sentence of the text
    envelope_to: tuple[str, ...] = ()  # where the notice was delivered (VERP: bounces+<token>@…), lower-cased
    subject: str = ""

    @property
    def counts(self) -> bool:
        """Whether this is a delivery failure or complaint about a recipient (not a warning, not a reply)."""
        return self.kind in ("hard", "soft", "complaint")


_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<![\d.])([45]\d\d)(?:[ -:]|$)", re.M)
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|mail\.delivery\.subsystem)@", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered mail|delivery status notification \((failure|delay)|mail delivery failed|"
    r"delivery failure|failure notice|returned mail|returned to sender|could not be delivered|"
    r"delivery has failed|message not delivered|nondeliverable|non-delivery",
    re.I,
)
_BOUNCE_TEXT = re.compile(
    r"mail delivery software|could not be delivered|unable to deliver|delivery (?:to the following )?"
    r"(?:recipients? )?(?:has )?failed|permanent(?:ly)? (?:error|fatal)|this is the qmail-send program|"
    r"message could not be delivered|undeliverable",
    re.I,
)
_HARD_TEXT = re.compile(
    r"user unknown|unknown user|no such (?:user|mailbox|recipient)|does not exist|doesn't (?:exist|have)|"
    r"not (?:a )?valid (?:recipient|mailbox|address)|invalid (?:recipient|mailbox|address)|"
    r"recipient (?:address )?rejected|mailbox unavailable|address not found|no mailbox here|"
    r"account (?:has been )?(?:disabled|deactivated|closed)|recipient not found",
    re.I,
)
_SOFT_TEXT = re.compile(
    r"mailbox (?:is )?full|over ?quota|quota exceeded|insufficient (?:storage|system storage)|"
    r"temporar(?:y|ily)|try again later|deferred|greylist",
    re.I,
)
_AUTO_SUBJECT = re.compile(
    r"^(?:auto(?:matic)?[ -]?(?:reply|response)|out of (?:the )?office|absence|away from|on (?:annual )?leave|"
    r"abwesenheit|r[ée]ponse automatique)",
    re.I,
)


def classify(data: bytes) -> Bounce:
    """What a message that came back says happened, and to whom."""
    msg = message_from_bytes(data, policy=policy.default)
    envelope = _envelope_to(msg)
    subject = _header(msg, "Subject")

    def done(kind: Kind, shape: Shape, recipient: str | None, status: str | None, evidence: str) -> Bounce:
        recipient = recipient.strip().strip("<>").lower() if recipient else None
        return Bounce(kind, shape, recipient or None, status, _one_line(evidence), envelope, subject)

    report = _part(msg, "message/feedback-report")
    if report is not None:
        return done("complaint", "arf", *_feedback(msg, report))
    dsn = _part(msg, "message/delivery-status")
    if dsn is not None:
        found = _delivery_status(dsn)
        if found is not None:
            kind, recipient, status, evidence = found
            return done(kind, "dsn", recipient or _original_to(msg), status, evidence)
    sender = parseaddr(_header(msg, "From"))[1] or parseaddr(_header(msg, "Return-Path"))[1]
    text = _text(msg)
    failed = _header(msg, "X-Failed-Recipients")
    from_system = not sender or _DAEMON.match(sender)
    if failed or _BOUNCE_SUBJECT.search(subject) or (from_system and _BOUNCE_TEXT.search(text)):
        return done(*_text_bounce(msg, text, failed))
    if _auto_reply(msg, subject):
        return done("none", "auto-reply", None, None, f"Subject: {subject}" if subject else "an auto-reply")
    return done("none", "other", None, None, f"not a delivery notice (from {sender or 'no sender'})")


# ---- the standard shapes


def _feedback(msg: EmailMessage, report: Message) -> tuple[str | None, str | None, str]:
    fields = _fields(report)
    recipient = fields.get("original-rcpt-to") or _original_to(msg)
    if recipient:
        recipient = recipient.rpartition(";")[2] if ";" in recipient else recipient
    kind = fields.get("feedback-type", "abuse")
    agent = fields.get("user-agent", "")
    return recipient, None, f"Feedback-Type: {kind}" + (f" (User-Agent: {agent})" if agent else "")


def _delivery_status(part: Message) -> tuple[Kind, str | None, str | None, str] | None:
    """The first recipient the notice says failed (else was delayed): kind, address, status, evidence."""
    blocks = [_fields(b) for b in _blocks(part)]
    recipients = [b for b in blocks if "action" in b or "final-recipient" in b]
    if not recipients:
        return None
    chosen = next((b for b in recipients if b.get("action", "").lower() == "failed"), None)
    chosen = chosen or next((b for b in recipients if b.get("action", "").lower() == "delayed"), recipients[0])
    action = chosen.get("action", "").lower()
    address = _address_field(chosen.get("final-recipient") or chosen.get("original-recipient"))
    diagnostic = chosen.get("diagnostic-code", "")
    status = _status(chosen.get("status", "")) or _status(diagnostic)
    evidence = f"Status: {status}; Diagnostic-Code: {diagnostic}" if diagnostic else f"Status: {status}"
    if action in ("delivered", "relayed", "expanded"):
        return "none", address, status, f"Action: {action}"
    if action == "delayed":
        return "delayed", address, status, evidence
    return _by_status(status, diagnostic), address, status, evidence


def _blocks(part: Message) -> list[Message]:
    """A message/delivery-status body: the per-message block, then one per recipient."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    # Some senders base64 the part or get the MIME wrong: parse the text as blank-line separated blocks.
    text = _raw(part).decode("utf-8", "replace") or str(payload)
    return [message_from_bytes(b.strip().encode() + b"\n\n") for b in re.split(r"\r?\n\s*\r?\n", text) if b.strip()]


def _by_status(status: str | None, diagnostic: str) -> Kind:
    """5.x.x is hard, except a full mailbox (x.2.2) and a policy block (x.7.x), which say nothing about whether
    the address exists: those count as soft, as does anything without a code but with soft words."""
    if status is None:
        if _HARD_TEXT.search(diagnostic):
            return "hard"
        return "soft"
    klass, subject, _detail = status.split(".")
    if klass == "5" and not (subject == "2" and _detail == "2") and subject != "7":
        return "hard"
    return "soft"


# ---- the others: bounces in plain words


def _text_bounce(msg: EmailMessage, text: str, failed: str) -> tuple[Kind, Shape, str | None, str | None, str]:
    recipient = failed.split(",")[0].strip() if failed else _failed_address(text, msg)
    line = _evidence_line(text)
    status = _status(line) or _status(text)
    if status is None:
        code = _SMTP_CODE.search(line) or _SMTP_CODE.search(text)
        if code:
            status = f"{code.group(1)[0]}.0.0"
    if status is not None and status.endswith(".0.0"):  # a bare SMTP code: a 5xx for a full mailbox is soft
        kind: Kind = "hard" if status.startswith("5") and not _SOFT_TEXT.search(line) else "soft"
    elif status is not None:
        kind = _by_status(status, line)
    else:
        kind = "hard" if _HARD_TEXT.search(text) and not _SOFT_TEXT.search(text) else "soft"
    return kind, "text", recipient, status, line or "a bounce without a status code"


def _evidence_line(text: str) -> str:
    """The most telling line: one with an enhanced status code, else an SMTP reply, else a failure phrase."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for pattern in (_STATUS, _SMTP_CODE, _HARD_TEXT, _SOFT_TEXT):
        for ln in lines:
            if pattern.search(ln) and not ln.lower().startswith(("date:", "message-id:", "received:")):
                return ln
    return ""


def _failed_address(text: str, msg: EmailMessage) -> str | None:
    """The address a plain-words bounce names: the first in the text that is not the bouncing system's own."""
    own = {parseaddr(_header(msg, h))[1].lower() for h in ("From", "To", "Return-Path")}
    body = re.split(r"^-+ ?(?:original message|this is a copy|below this line)", text, maxsplit=1, flags=re.I | re.M)
    for candidate in _EMAIL.findall(body[0]):
        address = str(candidate).lower().rstrip(".")
        if address not in own and not _DAEMON.match(address):
            return address
    return _original_to(msg)


def _auto_reply(msg: EmailMessage, subject: str) -> bool:
    auto = _header(msg, "Auto-Submitted").lower()
    return (
        (bool(auto) and auto != "no")
        or any(_header(msg, h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"))
        or _header(msg, "Precedence").lower() == "auto_reply"
        or bool(_AUTO_SUBJECT.search(subject))
    )


# ---- reading parts and fields


def _part(msg: EmailMessage, ctype: str) -> Message | None:
    for part in msg.walk():
        if part.get_content_type() == ctype:
            return part
    return None


def _fields(part: Message) -> dict[str, str]:
    """A block of `Name: value` fields, keys lower-cased; the first of each wins. Also reads a part whose
    fields arrived as its body (feedback reports are often text that the parser left unparsed)."""
    out: dict[str, str] = {}
    items: list[tuple[str, str]] = [(k, str(v)) for k, v in part.items()]
    payload = part.get_payload()
    if isinstance(payload, list):
        for sub in payload:
            if isinstance(sub, Message):
                items += [(k, str(v)) for k, v in sub.items()]
    elif isinstance(payload, str):
        items += [(k, v) for k, _, v in (ln.partition(":") for ln in payload.splitlines()) if v]
    for key, value in items:
        out.setdefault(key.strip().lower(), " ".join(value.split()))
    return out


def _original_to(msg: EmailMessage) -> str | None:
    """The To of the returned original (message/rfc822 or text/rfc822-headers), when the notice includes it."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            original = inner[0] if isinstance(inner, list) and inner else None
            if isinstance(original, Message) and original.get("To"):
                return _first_address(str(original["To"]))
        elif ctype == "text/rfc822-headers":
            headers = message_from_bytes(_raw(part), policy=policy.default)
            if headers.get("To"):
                return _first_address(str(headers["To"]))
    return None


def _envelope_to(msg: EmailMessage) -> tuple[str, ...]:
    seen: list[str] = []
    for name in _ENVELOPE_HEADERS:
        for value in msg.get_all(name, []):
            for _name, address in getaddresses([str(value)]):
                address = address.lower()
                if address and address not in seen:
                    seen.append(address)
    return tuple(seen)


def _text(msg: EmailMessage) -> str:
    """The notice's human-readable words: its text/plain parts, else its HTML with the tags taken out."""
    plain: list[str] = []
    html: list[str] = []
    for part in msg.walk():
        if part.get_content_maintype() == "multipart" or part.get_content_type() == "message/rfc822":
            continue
        if part.get_content_type() not in ("text/plain", "text/html"):
            continue
        try:
            content = part.get_content()
        except (LookupError, ValueError):  # an unknown charset or a broken encoding: take what decodes
            content = _raw(part).decode("utf-8", "replace")
        (plain if part.get_content_type() == "text/plain" else html).append(str(content))
    if plain:
        return "\n".join(plain)
    return re.sub(r"<[^>]+>", " ", "\n".join(html))


def _raw(part: Message) -> bytes:
    """A leaf part's body with its transfer encoding undone (b"" for anything else)."""
    raw = part.get_payload(decode=True)
    return raw if isinstance(raw, bytes) else b""


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except (ValueError, IndexError):  # a header the parser cannot make sense of reads as absent
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def status_in(text: str) -> str | None:
    """The first enhanced status code (RFC 3463) in a text: "5.1.1"."""
    found = _STATUS.search(text or "")
    return ".".join(found.groups()) if found else None


_status = status_in


def _address_field(value: str | None) -> str | None:
    if not value:
        return None
    return value.rpartition(";")[2].strip() or None


def _first_address(value: str) -> str | None:
    for _name, address in getaddresses([value]):
        if address:
            return address
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:500]
