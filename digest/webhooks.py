"""Bounces and complaints reported by relays over HTTP (`POST /webhooks/<provider>`): each request's signature
checked, its age and replay key returned, its events read. Pure: the body, the headers, the settings, `now`,
the secrets and (for SNS) a way to get a signing certificate come in; `Verified` (or a `WebhookError` with the
HTTP status to answer) comes out. The web edge refuses a replay by the key and records the events.

    mailgun   HMAC-SHA256 of timestamp + token with the signing key; the token is the replay key
    postmark  HTTP basic auth (Postmark signs nothing); the event's ID is the replay key
    sendgrid  ECDSA P-256 over timestamp + body (Signed Event Webhook); the signature is the replay key
    ses       Amazon SNS: RSA over the canonical fields, with the certificate from an https
              sns.<region>.amazonaws.com URL; only the configured topics; the MessageId is the replay key
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .bounces import status_in
from .config import WebhookSettings
from .errors import DigestError

PROVIDERS = ("mailgun", "postmark", "sendgrid", "ses")
_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")


class WebhookError(DigestError):
    """A webhook request refused: `status` is the HTTP status to answer (401 unsigned, 403 wrongly signed or too
    old, 400 unreadable, 404 a provider that is not configured)."""

    def __init__(self, message: str, *, status: int) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Event:
    email: str
    kind: str  # hard | soft | complaint
    status: str | None
    evidence: str
    event_id: str | None


@dataclass(frozen=True)
class Verified:
    replay_key: str
    events: tuple[Event, ...]
    note: str = ""  # e.g. an SNS subscription confirmed
    confirm: str | None = None  # an SNS SubscribeURL to open (checked: SNS's own, for an allowed topic)


def verify(
    provider: str,
    body: bytes,
    headers: Mapping[str, str],
    settings: WebhookSettings,
    *,
    now: datetime,
    secrets: Mapping[str, str],
    certificate: Callable[[str], bytes],
) -> Verified:
    """Check a request's signature and age, and read its events. `headers` keys are lower-case."""
    if provider == "mailgun" and settings.mailgun:
        return _mailgun(body, settings, secrets.get(settings.mailgun.signing_key_env, ""), now)
    if provider == "postmark" and settings.postmark:
        return _postmark(body, headers, settings, secrets.get(settings.postmark.password_env, ""))
    if provider == "sendgrid" and settings.sendgrid:
        return _sendgrid(body, headers, settings, now)
    if provider == "ses" and settings.ses:
        return _ses(body, settings, now, certificate)
    raise WebhookError(f"no webhook is configured for {provider!r}", status=404)


# ---- Mailgun


def _mailgun(body: bytes, settings: WebhookSettings, key: str, now: datetime) -> Verified:
    data = _json(body)
    sig = data.get("signature") if isinstance(data, dict) else None
    if not isinstance(sig, dict) or not all(isinstance(sig.get(k), str) for k in ("timestamp", "token", "signature")):
        raise WebhookError("unsigned: no signature.timestamp, token and signature", status=401)
    if not key:
        raise WebhookError("the Mailgun signing key is not set in the environment", status=403)
    expected = hmac.new(key.encode(), (sig["timestamp"] + sig["token"]).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig["signature"]):
        raise WebhookError("the signature does not match", status=403)
    _fresh(sig["timestamp"], settings, now)
    event = data.get("event-data") or {}
    return Verified(f"token:{sig['token']}", tuple(_mailgun_event(event)))


def _mailgun_event(e: dict[str, Any]) -> list[Event]:
    email, what = e.get("recipient"), e.get("event")
    if not isinstance(email, str):
        return []
    if what == "complained":
        return [Event(email, "complaint", None, "Mailgun: complained", _str(e.get("id")))]
    if what != "failed":
        return []
    ds = e.get("delivery-status") or {}
    evidence = " ".join(str(ds.get(k) or "") for k in ("code", "message", "description")).strip()
    status = status_in(evidence) or (f"{str(ds.get('code'))[0]}.0.0" if ds.get("code") else None)
    kind = "hard" if e.get("severity") == "permanent" else "soft"
    return [Event(email, kind, status, f"Mailgun {e.get('severity', '')}: {evidence}", _str(e.get("id")))]


# ---- Postmark


def _postmark(body: bytes, headers: Mapping[str, str], settings: WebhookSettings, password: str) -> Verified:
    assert settings.postmark is not None
    auth = headers.get("authorization", "")
    if not auth.lower().startswith("basic "):
        raise WebhookError("unsigned: no basic auth", status=401)
    try:
        user, _, given = base64.b64decode(auth[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise WebhookError("unreadable basic auth", status=401) from None
    good_user = hmac.compare_digest(user.encode(), settings.postmark.username.encode())
    if not password or not (hmac.compare_digest(given.encode(), password.encode()) and good_user):
        raise WebhookError("wrong user or password", status=403)
    e = _json(body)
    if not isinstance(e, dict) or "ID" not in e:
        raise WebhookError("not a Postmark event (no ID)", status=400)
    email, record, kind = e.get("Email"), e.get("RecordType"), str(e.get("Type", ""))
    events: list[Event] = []
    if isinstance(email, str) and record in ("Bounce", "SpamComplaint"):
        evidence = f"Postmark {kind}: {e.get('Description', '')} {e.get('Details', '')}".strip()
        if record == "SpamComplaint" or kind in ("SpamComplaint", "SpamNotification"):
            events.append(Event(email, "complaint", None, evidence, f"postmark:{e['ID']}"))
        elif kind in ("HardBounce", "BadEmailAddress", "ManuallyDeactivated"):
            events.append(Event(email, "hard", status_in(evidence), evidence, f"postmark:{e['ID']}"))
        elif kind not in ("AutoResponder", "Unsubscribe", "Subscribe", "OpenRelayTest", "Unknown"):
            events.append(Event(email, "soft", status_in(evidence), evidence, f"postmark:{e['ID']}"))
    return Verified(f"id:{e['ID']}", tuple(events))


# ---- SendGrid


def _sendgrid(body: bytes, headers: Mapping[str, str], settings: WebhookSettings, now: datetime) -> Verified:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    assert settings.sendgrid is not None
    signature = headers.get("x-twilio-email-event-webhook-signature", "")
    timestamp = headers.get("x-twilio-email-event-webhook-timestamp", "")
    if not signature or not timestamp:
        raise WebhookError("unsigned: no X-Twilio-Email-Event-Webhook-Signature and -Timestamp", status=401)
    try:
        key = load_der_public_key(base64.b64decode(settings.sendgrid.public_key))
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise WebhookError("bounces.webhooks.sendgrid.public_key is not an ECDSA key", status=403)
        key.verify(base64.b64decode(signature), timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise WebhookError("the signature does not match", status=403) from None
    _fresh(timestamp, settings, now)
    data = _json(body)
    events: list[Event] = []
    for e in data if isinstance(data, list) else []:
        if not isinstance(e, dict) or not isinstance(e.get("email"), str):
            continue
        what, status = e.get("event"), _str(e.get("status"))
        evidence = f"SendGrid {what} {e.get('type', '')}: {e.get('reason', '')}".strip()
        if what == "spamreport":
            events.append(Event(e["email"], "complaint", None, evidence, _str(e.get("sg_event_id"))))
        elif what == "bounce":
            status = status_in(status or "") or status_in(evidence)
            hard = e.get("type") != "blocked" and (status or "5").startswith("5")
            events.append(Event(e["email"], "hard" if hard else "soft", status, evidence, _str(e.get("sg_event_id"))))
    return Verified("sig:" + hashlib.sha256(signature.encode()).hexdigest(), tuple(events))


# ---- Amazon SES through SNS


_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}


def sns_subscribe_url_ok(url: str, topic: str) -> bool:
    """A SubscribeURL to open only if it is SNS's own (https, an SNS host) confirming the very topic signed for."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    return (
        parts.scheme == "https"
        and bool(_SNS_HOST.match(parts.hostname or ""))
        and parts.port is None
        and query.get("Action") == "ConfirmSubscription"
        and query.get("TopicArn") == topic
    )


def sns_certificate_url_ok(url: str) -> bool:
    """Only an https URL on an SNS host of AWS may supply the certificate (else anyone could sign)."""
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(_SNS_HOST.match(parts.hostname or "")) and parts.path.endswith(".pem")


def _ses(body: bytes, settings: WebhookSettings, now: datetime, certificate: Callable[[str], bytes]) -> Verified:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    assert settings.ses is not None
    m = _json(body)
    if not isinstance(m, dict) or m.get("Type") not in _SIGNED:
        raise WebhookError("not an SNS message", status=400)
    if not m.get("Signature") or not m.get("SigningCertURL"):
        raise WebhookError("unsigned: no Signature or SigningCertURL", status=401)
    url = str(m["SigningCertURL"])
    if not sns_certificate_url_ok(url):
        raise WebhookError(
            f"the signing certificate must come from https://sns.<region>.amazonaws.com: {url}", status=403
        )
    if m.get("TopicArn") not in settings.ses.topic_arns:
        raise WebhookError(f"topic {m.get('TopicArn')} is not in bounces.webhooks.ses.topic_arns", status=403)
    text = "".join(f"{k}\n{m[k]}\n" for k in _SIGNED[m["Type"]] if k in m)
    # SignatureVersion 1 is SHA1 (what SNS still sends by default), 2 is SHA256.
    digest = hashes.SHA256() if str(m.get("SignatureVersion")) == "2" else hashes.SHA1()
    try:
        key = x509.load_pem_x509_certificate(certificate(url)).public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise WebhookError("the SNS certificate's key is not RSA", status=403)
        key.verify(base64.b64decode(str(m["Signature"])), text.encode(), padding.PKCS1v15(), digest)
    except (InvalidSignature, binascii.Error, ValueError):
        raise WebhookError("the signature does not match", status=403) from None
    _fresh(str(m.get("Timestamp", "")), settings, now)
    replay = f"message:{m.get('MessageId')}"
    if m["Type"] == "SubscriptionConfirmation":
        # The topic is one the operator allowed and the message is SNS's, so the subscription is wanted: confirm
        # it (the service opens the URL), rather than leave bounces unheard until someone reads the log.
        subscribe, topic = str(m.get("SubscribeURL", "")), str(m["TopicArn"])
        if sns_subscribe_url_ok(subscribe, topic):
            return Verified(replay, (), f"SNS subscription to {topic}", confirm=subscribe)
        return Verified(replay, (), f"SNS subscription to {topic} not confirmed: its SubscribeURL is not SNS's own")
    if m["Type"] != "Notification":
        return Verified(replay, (), f"SNS {m['Type']}: to subscribe again, open {m.get('SubscribeURL', '')}")
    return Verified(replay, tuple(_ses_events(_json(str(m.get("Message", "")).encode()), str(m.get("MessageId")))))


def _ses_events(n: Any, message_id: str) -> list[Event]:
    if not isinstance(n, dict):
        return []
    what = n.get("notificationType") or n.get("eventType")
    if what == "Complaint":
        c = n.get("complaint") or {}
        kind = c.get("complaintFeedbackType", "abuse")
        return [
            Event(r["emailAddress"], "complaint", None, f"SES complaint: {kind}", f"ses:{message_id}")
            for r in c.get("complainedRecipients", [])
            if isinstance(r, dict) and isinstance(r.get("emailAddress"), str)
        ]
    if what != "Bounce":
        return []
    b = n.get("bounce") or {}
    kind = "hard" if b.get("bounceType") == "Permanent" else "soft"
    out = []
    for r in b.get("bouncedRecipients", []):
        if isinstance(r, dict) and isinstance(r.get("emailAddress"), str):
            evidence = f"SES {b.get('bounceType')}/{b.get('bounceSubType')}: {r.get('diagnosticCode', '')}".strip()
            status = status_in(str(r.get("status", ""))) or status_in(evidence)
            out.append(Event(r["emailAddress"], kind, status, evidence, f"ses:{message_id}"))
    return out


# ---- shared


def _fresh(timestamp: str, settings: WebhookSettings, now: datetime) -> None:
    """Refuse a request signed too long ago (or in the future): a replay of an old request fails here."""
    try:
        when = (
            datetime.fromtimestamp(int(timestamp), UTC)
            if timestamp.isdigit()
            else datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        )
    except (ValueError, OverflowError):
        raise WebhookError(f"unreadable timestamp {timestamp!r}", status=400) from None
    age = (now - when).total_seconds()
    if age > settings.max_age:
        raise WebhookError(f"signed {int(age)} s ago; older than {settings.max_age} s is refused", status=403)
    if -age > settings.max_age:  # a clock far ahead, or a forged time: "signed -4999 s ago" said it backwards
        said = f"signed {int(-age)} s in the future; more than {settings.max_age} s ahead is refused"
        raise WebhookError(said, status=403)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookError("the body is not JSON", status=400) from None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
