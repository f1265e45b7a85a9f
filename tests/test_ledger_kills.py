"""The ledger under SIGKILL: a real `digest send` killed again and again mid-send through a real SMTP server."""

from __future__ import annotations

import random
from pathlib import Path

from .conftest import free_port
from .kills import CountingSink, experiment, prepare


def test_repeated_sigkills_miss_no_one_and_duplicate_at_most_one_message_each(tmp_path: Path) -> None:
    """Killed 12 times at random moments over 3,000 subscribers (2 connections), each kill followed by another
    `digest send`: everyone gets the digest, and each kill costs at most one duplicate (the one message whose
    250 had arrived but was not yet written). Enough subscribers that twelve sends of up to 0.2 s each never run
    out of them at the sink's fastest (about 600 messages a second; 1,500 had run out once)."""
    seed = random.randrange(1 << 30)
    port = free_port()
    config, addresses = prepare(tmp_path, port, 3000)
    with CountingSink(port) as sink:
        figures = experiment(config, sink, addresses, kills=12, rng=random.Random(seed), most=0.2)
    said = f"seed {seed}: {figures.line()}, per kill {figures.caused}"
    assert figures.kills == 12, said
    assert figures.missed == 0, said
    assert max(figures.caused) <= 1, said
    assert figures.duplicates == sum(figures.caused), said  # every duplicate is one a kill caused
