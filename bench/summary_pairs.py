"""The inspectorate's own summaries: each report page in the corpus against the press release that announced it
(both OGL, both in tests/data/corpus with the same `pair` key). ROUGE-2 of `digest` and of sumy's LexRank at the
same word budget, in the same run, with the first sentences as a floor.

Prints a line per pair, the means per half of the corpus split and overall; last line:
RESULT pairs=… ours_rouge2=… lexrank_rouge2=… lead_rouge2=… ratio_lexrank=…
Aim (issue 11): ours ≥ 1.15× LexRank. With a few dozen pairs a ratio moves a lot with the pairs drawn, so the
untuned part's and the whole's come with a 95% interval: a paired bootstrap over the pairs (fixed seed).
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict

from rouge_score import rouge_scorer
from sumy.nlp.stemmers import Stemmer
from sumy.parsers.plaintext import PlaintextParser
from sumy.summarizers.lex_rank import LexRankSummarizer

from bench.summaries import OfflineTokenizer, first_words
from digest.summarise import Hints, summarise
from digest.text import split_sentences
from tests.corpus import Case, load

WORDS = 120


def pairs() -> list[tuple[Case, Case]]:
    by_key: dict[str, list[Case]] = defaultdict(list)
    for c in load():
        if c.labels.get("pair"):
            by_key[c.labels["pair"]].append(c)
    out = []
    for cases in by_key.values():
        reports = [c for c in cases if "/document/" in c.labels["source_url"] or "report" in c.slug]
        releases = [c for c in cases if c not in reports]
        if len(cases) == 2 and reports and releases and cases[0].labels["about_probation"]:
            out.append((reports[0], releases[0]))
    return sorted(out, key=lambda p: p[0].slug)


def lexrank_at(text: str, budget: int) -> str:
    """LexRank's best sentences, as many as fit the word budget, in document order (sumy picks the top k)."""
    parser = PlaintextParser.from_string(text.replace("\n\n", "\n"), OfflineTokenizer())
    summarizer = LexRankSummarizer(Stemmer("english"))
    best = ""
    for k in range(1, 30):
        chosen = " ".join(str(s) for s in summarizer(parser.document, k))
        if len(chosen.split()) > budget:
            break
        best = chosen
    return best


def interval(rows: list[dict[str, float]], draws: int = 10_000) -> tuple[float, float]:
    """The 95% interval of ours ÷ LexRank over resamples of the pairs, each pair's scores kept together."""
    rng = random.Random(0)
    ratios = []
    for _ in range(draws):
        sample = [rng.choice(rows) for _ in rows]
        lexrank = sum(r["lexrank"] for r in sample)
        if lexrank:
            ratios.append(sum(r["ours"] for r in sample) / lexrank)
    ratios.sort()
    return ratios[int(0.025 * len(ratios))], ratios[int(0.975 * len(ratios)) - 1]


def main() -> None:
    scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=True)
    rows = []
    for report, release in pairs():
        doc = report.document()
        ref = release.document().text
        ours = summarise(doc, Hints(title=report.labels["title"], source_type=report.source_type), words=WORDS).summary
        lexrank = lexrank_at(doc.text, WORDS)
        lead = first_words(split_sentences(doc.text.replace("\n\n", " ")), WORDS)
        r = {
            name: scorer.score(ref, text)["rouge2"].fmeasure
            for name, text in (("ours", ours), ("lexrank", lexrank), ("lead", lead))
        }
        rows.append((report.half, report.slug, r))
        print(
            f"{report.slug[:50]:<50} {report.half:<8} ours {r['ours']:.3f}  "
            f"LexRank {r['lexrank']:.3f}  lead {r['lead']:.3f}"
        )
    # The weights were set on the tune half; the other halves together are the figure that counts.
    for half in (*dict.fromkeys(h for h, _, _ in rows), "untuned", None):
        sel = [r for h, _, r in rows if half is None or h == half or (half == "untuned" and h != "tune")]
        if not sel:
            continue
        means = {k: statistics.mean(r[k] for r in sel) for k in ("ours", "lexrank", "lead")}
        label = half or "all"
        spread = ""
        if half in ("untuned", None):
            low, high = interval(sel)
            spread = f", 95% interval {low:.2f}-{high:.2f}x"
        print(
            f"{label:<8} {len(sel):>2} pairs: ours {means['ours']:.3f}  LexRank {means['lexrank']:.3f}  "
            f"lead {means['lead']:.3f}  ratio {means['ours'] / means['lexrank']:.2f}x LexRank{spread} (aim 1.15x)"
        )
    means = {k: statistics.mean(r[k] for _, _, r in rows) for k in ("ours", "lexrank", "lead")}
    print(
        f"RESULT pairs={len(rows)} ours_rouge2={means['ours']:.3f} lexrank_rouge2={means['lexrank']:.3f} "
        f"lead_rouge2={means['lead']:.3f} ratio_lexrank={means['ours'] / means['lexrank']:.2f}"
    )


if __name__ == "__main__":
    main()
