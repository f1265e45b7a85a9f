"""Relays' webhooks, POSTed to the live app (uvicorn on 127.0.0.1): Mailgun, Postmark, SendGrid and Amazon SES
via SNS. Each signed event suppresses its subscriber; an unsigned, wrongly signed, too old or replayed request
is refused with a 4xx and changes nothing. The keys and the SNS certificate are made here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from digest import daily
from digest.config import Settings, load_settings
from digest.deliver import SmtpSender
from digest.errors import DigestError
from digest.store import Store
from digest.web import create_app
from digest.webhooks import sns_certificate_url_ok

from .conftest import SECRET, Mailbox, free_port, serve_app

NOW = datetime(2026, 11, 24, 12, 30, tzinfo=UTC)
MAILGUN_KEY = "key-mailgun-signing-0123456789abcdef"
POSTMARK_PASSWORD = "postmark hook password"
TOPIC = "arn:aws:sns:eu-west-2:123456789012:ses-bounces"
CERT_URL = "https://sns.eu-west-2.amazonaws.com/SimpleNotificationService-0000.pem"
SUBSCRIBERS = ["kim@example.org", "lee@example.org", "max@example.org", "ned@example.org", "oli@example.org"]


@dataclass
class Keys:
    sendgrid: ec.EllipticCurvePrivateKey
    sns: rsa.RSAPrivateKey
    sns_cert: bytes


@pytest.fixture(scope="module")
def keys() -> Keys:
    sns = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(sns.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(sns, hashes.SHA256())
    )
    return Keys(ec.generate_private_key(ec.SECP256R1()), sns, cert.public_bytes(serialization.Encoding.PEM))


@dataclass
class Site:
    base: str
    settings: Settings
    config: Path
    fetched: list[str]
    confirmed: list[str]

    def post(self, provider: str, body: bytes, headers: dict[str, str] | None = None) -> Any:
        import httpx

        return httpx.post(f"{self.base}/webhooks/{provider}", content=body, headers=headers or {}, timeout=30)


@pytest.fixture
def site(make_config: Any, smtp: tuple[Mailbox, int], keys: Keys, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    _box, smtp_port = smtp
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    monkeypatch.setenv("DIGEST_MAILGUN_SIGNING_KEY", MAILGUN_KEY)
    monkeypatch.setenv("DIGEST_POSTMARK_WEBHOOK_PASSWORD", POSTMARK_PASSWORD)
    public = keys.sendgrid.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    extra = (
        "schedule:\n  send_empty: true\n"
        "bounces:\n  webhooks:\n    max_age: 300\n    mailgun: {}\n    postmark:\n      username: postmark\n"
        f"    sendgrid:\n      public_key: {base64.b64encode(public).decode()}\n"
        f"    ses:\n      topic_arns: ['{TOPIC}']\n"
    )
    config = make_config([], subscribers=SUBSCRIBERS, smtp_port=smtp_port, extra=extra)
    port = free_port()
    settings = load_settings(config, overrides={"public_url": f"http://127.0.0.1:{port}"})
    fetched: list[str] = []

    confirmed: list[str] = []

    def certificate(url: str) -> bytes:
        fetched.append(url)
        return keys.sns_cert

    def confirm(url: str) -> None:
        if "unreachable" in url:
            raise DigestError("SNS did not confirm: connection refused")
        confirmed.append(url)

    app = create_app(settings, clock=lambda: NOW, sns_certificate=certificate, sns_confirm=confirm)
    for live in serve_app(app, port):
        yield Site(live.base, settings, config, fetched, confirmed)


def suppressed(site: Site) -> dict[str, str]:
    with Store(site.settings.database) as store:
        return store.suppressions()


# ---- Mailgun


def mailgun(event: dict[str, Any], *, when: datetime = NOW, token: str = "tok-1", key: str = MAILGUN_KEY) -> bytes:
    timestamp = str(int(when.timestamp()))
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {"signature": {"timestamp": timestamp, "token": token, "signature": signature}, "event-data": event}
    ).encode()


MAILGUN_FAILED = {
    "id": "mg-1",
    "event": "failed",
    "severity": "permanent",
    "recipient": "kim@example.org",
    "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist", "description": ""},
}


def test_mailgun_bounce_end_to_end(site: Site, smtp: tuple[Mailbox, int]) -> None:
    """A signed Mailgun 'failed' event suppresses kim; the next digest (through aiosmtpd) skips kim; the editor
    sees why in `digest subscribers list`."""
    box, _port = smtp
    r = site.post("mailgun", mailgun(MAILGUN_FAILED))
    assert r.status_code == 200, r.text
    assert r.text.startswith("kim@example.org: hard bounce (5.1.1); suppressed: Mailgun permanent: 550 5.1.1")
    assert suppressed(site) == {"kim@example.org": "bounced"}
    assert site.settings.smtp is not None
    with Store(site.settings.database) as store:
        daily.send_digest(site.settings, store, SmtpSender(site.settings.smtp, backoff=0.01), clock=lambda: NOW)
    assert sorted(box.recipients) == sorted(s for s in SUBSCRIBERS if s != "kim@example.org")
    cmd = [sys.executable, "-m", "digest.cli", "--config", str(site.config), "subscribers", "list"]
    listed = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    [kim] = [ln for ln in listed.splitlines() if ln.startswith("kim@example.org")]
    assert kim.split()[1] == "bounced" and "Mailgun permanent: 550 5.1.1 The email account does not exist" in kim


@pytest.mark.parametrize(
    ("body", "status", "why"),
    [
        (json.dumps({"event-data": MAILGUN_FAILED}).encode(), 401, "unsigned"),
        (mailgun(MAILGUN_FAILED, key="not the key"), 403, "the signature does not match"),
        (mailgun(MAILGUN_FAILED, when=NOW - timedelta(minutes=10)), 403, "older than 300 s is refused"),
        (mailgun(MAILGUN_FAILED, when=NOW + timedelta(minutes=10)), 403, "signed 600 s in the future; more than"),
        (b"not json", 400, "the body is not JSON"),
    ],
    ids=["unsigned", "wrong key", "too old", "from the future", "not json"],
)
def test_mailgun_refuses_bad_requests(site: Site, body: bytes, status: int, why: str) -> None:
    """Unsigned, wrongly signed, too old or unreadable: refused with a 4xx naming why; nobody is suppressed."""
    r = site.post("mailgun", body)
    assert r.status_code == status and why in r.text
    assert suppressed(site) == {}


def test_a_replayed_request_is_refused(site: Site) -> None:
    """The same signed request (same token) a second time is refused with 409."""
    body = mailgun({**MAILGUN_FAILED, "severity": "temporary"})
    assert site.post("mailgun", body).status_code == 200
    r = site.post("mailgun", body)
    assert r.status_code == 409 and "replay" in r.text


def test_an_unconfigured_provider_is_not_found(site: Site) -> None:
    """A provider name that is not configured (or does not exist) answers 404."""
    assert site.post("sparkpost", b"{}").status_code == 404


# ---- Postmark


def postmark_auth(password: str = POSTMARK_PASSWORD, user: str = "postmark") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


POSTMARK_BOUNCE = {
    "RecordType": "Bounce",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Email": "lee@example.org",
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    "BouncedAt": "2026-11-24T12:29:00Z",
}


def test_postmark_bounce_and_complaint(site: Site) -> None:
    """With the webhook's basic auth, a HardBounce suppresses lee and a SpamComplaint suppresses max; without it,
    or with the wrong password, nothing happens."""
    body = json.dumps(POSTMARK_BOUNCE).encode()
    assert site.post("postmark", body).status_code == 401
    assert site.post("postmark", body, postmark_auth("wrong")).status_code == 403
    assert suppressed(site) == {}
    r = site.post("postmark", body, postmark_auth())
    assert r.status_code == 200 and r.text.startswith("lee@example.org: hard bounce (5.1.1); suppressed")
    complaint = {
        **POSTMARK_BOUNCE,
        "RecordType": "SpamComplaint",
        "Type": "SpamComplaint",
        "ID": 7,
        "Email": "max@example.org",
    }
    assert site.post("postmark", json.dumps(complaint).encode(), postmark_auth()).status_code == 200
    assert suppressed(site) == {"lee@example.org": "bounced", "max@example.org": "complained"}
    assert site.post("postmark", body, postmark_auth()).status_code == 409  # the same event ID again


# ---- SendGrid


def sendgrid(keys: Keys, events: list[dict[str, Any]], *, when: datetime = NOW) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(events).encode()
    timestamp = str(int(when.timestamp()))
    signature = keys.sendgrid.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return body, {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


def test_sendgrid_signed_events(site: Site, keys: Keys) -> None:
    """A signed batch with a bounce, a spam report and a deferral: ned bounced, oli complained, the deferral is
    nothing; a tampered body, a missing signature and an old timestamp are refused."""
    events = [
        {
            "email": "ned@example.org",
            "event": "bounce",
            "type": "bounce",
            "status": "5.1.1",
            "reason": "550 5.1.1 user unknown",
            "sg_event_id": "sg-1",
        },
        {"email": "oli@example.org", "event": "spamreport", "sg_event_id": "sg-2"},
        {"email": "kim@example.org", "event": "deferred", "sg_event_id": "sg-3"},
    ]
    body, headers = sendgrid(keys, events)
    assert site.post("sendgrid", body.replace(b"ned@", b"kim@"), headers).status_code == 403
    assert site.post("sendgrid", body).status_code == 401
    old_body, old_headers = sendgrid(keys, events, when=NOW - timedelta(hours=1))
    assert site.post("sendgrid", old_body, old_headers).status_code == 403
    assert suppressed(site) == {}
    r = site.post("sendgrid", body, headers)
    assert r.status_code == 200, r.text
    assert suppressed(site) == {"ned@example.org": "bounced", "oli@example.org": "complained"}
    assert site.post("sendgrid", body, headers).status_code == 409


# ---- Amazon SES through SNS


def sns(
    keys: Keys,
    message: dict[str, Any],
    *,
    message_id: str = "m-1",
    url: str = CERT_URL,
    when: datetime = NOW,
    topic: str = TOPIC,
) -> bytes:
    m = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic,
        "Message": json.dumps(message),
        "Timestamp": when.isoformat().replace("+00:00", "Z"),
        "SignatureVersion": "1",
        "SigningCertURL": url,
    }
    text = "".join(f"{k}\n{m[k]}\n" for k in ("Message", "MessageId", "Timestamp", "TopicArn", "Type"))
    m["Signature"] = base64.b64encode(keys.sns.sign(text.encode(), padding.PKCS1v15(), hashes.SHA1())).decode()
    return json.dumps(m).encode()


SES_BOUNCE = {
    "notificationType": "Bounce",
    "bounce": {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {"emailAddress": "kim@example.org", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
        ],
    },
    "mail": {"source": "digest@probation-digest.example"},
}


def test_ses_via_sns(site: Site, keys: Keys) -> None:
    """A signed SNS notification of an SES permanent bounce suppresses kim, its certificate fetched from the SNS
    URL; a complaint suppresses lee; the same MessageId again is refused."""
    r = site.post("ses", sns(keys, SES_BOUNCE))
    assert r.status_code == 200, r.text
    assert r.text.startswith("kim@example.org: hard bounce (5.1.1); suppressed: SES Permanent/General")
    assert site.fetched == [CERT_URL]
    complaint = {
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "lee@example.org"}], "complaintFeedbackType": "abuse"},
    }
    assert site.post("ses", sns(keys, complaint, message_id="m-2")).status_code == 200
    assert suppressed(site) == {"kim@example.org": "bounced", "lee@example.org": "complained"}
    assert site.post("ses", sns(keys, SES_BOUNCE)).status_code == 409


@pytest.mark.parametrize(
    ("change", "status", "why"),
    [
        ({"url": "https://evil.example/sns.pem"}, 403, "must come from https://sns.<region>.amazonaws.com"),
        ({"url": "http://sns.eu-west-2.amazonaws.com/x.pem"}, 403, "must come from"),
        ({"topic": "arn:aws:sns:eu-west-2:999:other"}, 403, "is not in bounces.webhooks.ses.topic_arns"),
        ({"when": NOW - timedelta(hours=2)}, 403, "older than 300 s"),
    ],
    ids=["foreign certificate host", "http certificate", "other topic", "too old"],
)
def test_ses_refuses(site: Site, keys: Keys, change: dict[str, Any], status: int, why: str) -> None:
    """A certificate from anywhere but SNS over https, another topic, or an old message: refused, nothing done."""
    r = site.post("ses", sns(keys, SES_BOUNCE, **change))
    assert r.status_code == status and why in r.text
    assert suppressed(site) == {}


def test_ses_refuses_a_tampered_message(site: Site, keys: Keys) -> None:
    """A message changed after signing (another recipient) fails the signature check."""
    body = sns(keys, SES_BOUNCE).replace(b"kim@example.org", b"max@example.org")
    r = site.post("ses", body)
    assert r.status_code == 403 and "signature does not match" in r.text


def sns_confirmation(keys: Keys, subscribe_url: str, *, topic: str = TOPIC, message_id: str = "c-1") -> bytes:
    m = {
        "Type": "SubscriptionConfirmation",
        "MessageId": message_id,
        "Token": "2336412f37",
        "TopicArn": topic,
        "Message": f"You have chosen to subscribe to the topic {topic}. To confirm, visit the SubscribeURL.",
        "SubscribeURL": subscribe_url,
        "Timestamp": NOW.isoformat().replace("+00:00", "Z"),
        "SignatureVersion": "1",
        "SigningCertURL": CERT_URL,
    }
    fields = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    text = "".join(f"{k}\n{m[k]}\n" for k in fields)
    m["Signature"] = base64.b64encode(keys.sns.sign(text.encode(), padding.PKCS1v15(), hashes.SHA1())).decode()
    return json.dumps(m).encode()


def _subscribe_url(topic: str = TOPIC, host: str = "sns.eu-west-2.amazonaws.com") -> str:
    return f"https://{host}/?Action=ConfirmSubscription&TopicArn={topic}&Token=2336412f37"


def test_ses_subscription_is_confirmed_by_itself(site: Site, keys: Keys) -> None:
    """Setting up SES bounces needs no log-reading: the signed confirmation of an allowed topic is confirmed by
    opening its SubscribeURL; one whose URL is not SNS's own, or names another topic, is not opened. When SNS
    cannot be reached the answer is 503, so SNS sends the same confirmation again, and that one is taken."""
    r = site.post("ses", sns_confirmation(keys, _subscribe_url()))
    assert r.status_code == 200 and r.text == f"SNS subscription to {TOPIC}: confirmed\n"
    assert site.confirmed == [_subscribe_url()]
    for n, bad in enumerate((_subscribe_url(host="sns.eu-west-2.amazonaws.com.evil.example"), _subscribe_url("arn:x"))):
        r = site.post("ses", sns_confirmation(keys, bad, message_id=f"c-bad-{n}"))
        assert r.status_code == 200 and "not confirmed: its SubscribeURL is not SNS's own" in r.text
    assert site.confirmed == [_subscribe_url()]
    unreachable = _subscribe_url() + "&unreachable=1"
    r = site.post("ses", sns_confirmation(keys, unreachable, message_id="c-2"))
    assert r.status_code == 503
    assert "could not confirm (SNS did not confirm: connection refused); SNS will try again, or open " in r.text
    reachable_again = sns_confirmation(keys, _subscribe_url() + "&retried=1", message_id="c-2")
    assert site.post("ses", reachable_again).status_code == 200  # the same message, sent again: not a replay


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem", True),
        ("https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem", True),
        ("https://sns.us-east-1.amazonaws.com.evil.example/x.pem", False),
        ("https://evil.example/sns.us-east-1.amazonaws.com/x.pem", False),
        ("https://sns.us-east-1.amazonaws.com/x.txt", False),
    ],
)
def test_only_sns_hosts_may_supply_the_certificate(url: str, ok: bool) -> None:
    """The signing certificate's URL must be https on sns.<region>.amazonaws.com and name a .pem."""
    assert sns_certificate_url_ok(url) is ok
