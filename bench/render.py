"""Render + build the MIME message for 10,000 subscribers: the per-subscriber cost of the daily send.

Renders the demo-sized digest once (inlining CSS once), then builds each subscriber's message by substituting
their address and unsubscribe link. In the same run, the reference the issue names: building each message
from scratch with the email package (EmailMessage, set_content, add_alternative, as_bytes).

Last line: RESULT per_message_ms=… reference_ms=… ratio=…   Target (issue 5): ≤ 1 ms per subscriber.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from digest.messages import EmailRenderer as Renderer
from digest.messages import Envelope, MessageFactory, message_id
from digest.render import PREFERENCES, RECIPIENT, UNSUBSCRIBE
from digest.tokens import Tokens
from tests.test_render import candidates, item

N = 10_000


def main() -> None:
    from digest.compose import Candidate, compose
    from digest.models import Summary

    # A full day: the test report card plus 20 posts with 120-word summaries (~60 KB of HTML).
    text = " ".join(["Inspectors found that probation practitioners had too little time for people on licence."] * 9)
    posts = [
        Candidate(
            item(10 + i, f"Post {i} on probation practice"),
            Summary(
                title=f"Post {i} on probation practice",
                kind="blog",
                about_probation=True,
                summary=text,
                key_findings=("Caseloads remain too high in many PDUs.",),
            ),
        )
        for i in range(20)
    ]
    digest = compose(
        candidates() + posts,
        list_name="Probation Digest",
        day=datetime(2026, 11, 24).date(),
        subject="{list_name}, {date:%a %-d %b}: {counts}",
    )
    emails = [f"reader{i:05d}@example.org" for i in range(N)]
    tokens = Tokens("bench-secret", "probation-digest.example.org")
    env = Envelope(
        from_name="Probation Digest",
        from_address="digest@example.org",
        list_id="probation-digest.example.org",
        subject=digest.subject,
        date=datetime(2026, 11, 24, 12, tzinfo=UTC),
        run_key="probation-digest:2026-11-24",
    )

    start = time.perf_counter()
    rendered = Renderer(public_url="https://digest.example.org").fit(digest, 90_000)
    factory = MessageFactory(rendered, env)
    total = 0
    for email in emails:
        data = factory.build(
            to=email,
            name=None,
            message_id=message_id(env.run_key, email, "example.org"),
            unsubscribe_url=f"https://digest.example.org/unsubscribe/{tokens.unsubscribe(email)}",
            preferences_url=f"https://digest.example.org/preferences/{tokens.preferences(email)}",
        )
        total += len(data)
    ours = time.perf_counter() - start

    sample = emails[:1000]
    start = time.perf_counter()
    for email in sample:
        url = f"https://digest.example.org/unsubscribe/{tokens.unsubscribe(email)}"
        prefs = f"https://digest.example.org/preferences/{tokens.preferences(email)}"
        msg = EmailMessage()
        msg["From"] = "Probation Digest <digest@example.org>"
        msg["To"] = email
        msg["Subject"] = env.subject
        msg["List-Unsubscribe"] = f"<{url}>"
        msg.set_content(rendered.text.replace(UNSUBSCRIBE, url).replace(RECIPIENT, email).replace(PREFERENCES, prefs))
        html = rendered.html.replace(UNSUBSCRIBE, url).replace(RECIPIENT, email).replace(PREFERENCES, prefs)
        msg.add_alternative(html, subtype="html")
        msg.as_bytes()
    reference = (time.perf_counter() - start) / len(sample)

    per = ours / N
    print(
        f"{N:,} messages ({total / N / 1024:.1f} KB each, HTML {len(rendered.html.encode()) / 1024:.1f} KB): "
        f"{ours:.2f} s including one render and CSS inlining"
    )
    print(
        f"per message: {per * 1000:.3f} ms (signing the unsubscribe token included); "
        f"email package from scratch: {reference * 1000:.3f} ms; ratio {per / reference:.3f}; target ≤ 1 ms"
    )
    print(f"RESULT per_message_ms={per * 1000:.3f} reference_ms={reference * 1000:.3f} ratio={per / reference:.3f}")


if __name__ == "__main__":
    main()
