"""Report cards against the labelled corpus: per-field accuracy on each half of the fixed split, and every miss.

    make eval                          # both halves, then every miss
    python -m bench.cards --half tune  # only the half rules may be written from

The figures that count are the holdout half's: nobody read those documents while writing the rules.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from tests.corpus import FIELDS, agreement, evaluate, halves, load, words

TARGETS = {
    "relevance": 0.98,
    "kind": 0.95,
    "rating": 1.0,
    "organisation": 0.95,
    "chief_inspector": 1.0,
    "published": 1.0,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=(*halves(), "all"), default="all")
    parser.add_argument("--quiet", action="store_true", help="figures only, no misses")
    args = parser.parse_args()
    parts = halves() if args.half == "all" else (args.half,)
    all_cases = load()
    counts = Counter(c.half for c in all_cases)
    negatives = Counter(c.half for c in all_cases if not c.labels["about_probation"])
    print(
        f"corpus: {len(all_cases)} documents; "
        + ", ".join(f"{h} {counts[h]} ({negatives[h]} hard negatives)" for h in ("tune", "holdout"))
    )
    results = {}
    for half in parts:
        started = time.perf_counter()
        results[half] = evaluate(c for c in all_cases if c.half == half)
        elapsed = time.perf_counter() - started
        print(f"\n{half} half ({counts[half]} documents, {elapsed:.1f} s)")
        for f in FIELDS:
            s = results[half][f]
            mark = "ok " if s.rate >= TARGETS[f] else "LOW"
            print(f"  {mark} {f:<16} {s.right:>3}/{s.total:<3} {s.rate:6.1%}   target {TARGETS[f]:.0%}")
    if not args.quiet:
        for half in parts:
            for f in FIELDS:
                for miss in results[half][f].misses:
                    print(f"MISS {half} {f}: {miss}")
    line = " ".join(f"{h}_{f}={results[h][f].rate:.3f}" for h in parts for f in FIELDS)
    # Not labelled word for word: how often a card that names the chief inspector gives their words, and whether
    # every sentence it gives is in the text as published (none cut short, mended or paraphrased).
    said = words(c for c in all_cases if c.half in parts)
    if said.named:
        print(
            f"\nthe chief inspector's words: on {said.given} of the {said.named} cards that name a chief inspector "
            f"({said.given / said.named:.1%}); word for word from the text: {said.verbatim} of {said.given}"
        )
        line += f" words_given={said.given / said.named:.3f}"
    agreed = agreement(c for c in all_cases if c.half in parts)
    if agreed is not None and agreed.positives:
        # How far the labels themselves can be trusted: where two people disagree, no program can match both.
        n, p = agreed.documents, agreed.positives
        print(
            f"\na second labeller, blind to the first (the same definitions; the text and address only), on {n} "
            f"documents:\n  relevance: the labellers agree on {agreed.relevance}/{n} ({agreed.relevance / n:.1%}); "
            f"the program agrees with the first on {agreed.program_relevance[0] / n:.1%}, with the second on "
            f"{agreed.program_relevance[1] / n:.1%}\n  kind, on the first's {p} documents about probation: the "
            f"labellers agree on {agreed.kind}/{p} ({agreed.kind / p:.1%}); the program agrees with the first on "
            f"{agreed.program_kind[0] / p:.1%}, with the second on {agreed.program_kind[1] / p:.1%}"
        )
        line += f" labellers_relevance={agreed.relevance / n:.3f} labellers_kind={agreed.kind / p:.3f}"
    print(f"RESULT {line}")


if __name__ == "__main__":
    main()
