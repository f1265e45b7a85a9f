"""ROUGE of `digest summarise` on the seed pair: the South Yorkshire report (as PDF) against the blog's human
summary of it, at 300 words, with two baselines in the same run: the report's first 300 words, and sumy's
LexRank with an offline tokenizer (nltk's punkt cannot be downloaded here).

Prints the figures; last line: RESULT rouge1=… rouge2=… rougeL=… seconds=… lead_rouge2=… lexrank_rouge2=… post_ms=…
Target (issue 4): ROUGE-2 ≥ 0.30 in under 1 s.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from rouge_score import rouge_scorer
from sumy.nlp.stemmers import Stemmer
from sumy.parsers.plaintext import PlaintextParser
from sumy.summarizers.lex_rank import LexRankSummarizer

from digest.extract import extract_text
from digest.models import Document
from digest.pdf import extract_pdf
from digest.summarise import summarise
from digest.text import split_sentences

ROOT = Path(__file__).resolve().parent.parent
PDF = (
    ROOT
    / "demo/web/hmiprobation.justiceinspectorates.gov.uk/wp-content/uploads/sites/5/2017/06"
    / ("South-Yorkshire-QI-report.pdf")
)
BLOG = ROOT / "tests/data/seeds/blog_south_yorkshire_2017.txt"
WORDS = 300


def reference() -> str:
    """The blog's summary: from its date line to the infographic link, boilerplate removed."""
    text = extract_text(BLOG.read_text(encoding="utf-8"), url="blog").text
    start = text.index("Today’s (29 June 2017)")
    end = text.index("Click here to see") if "Click here to see" in text else len(text)
    return text[start:end]


class OfflineTokenizer:
    """sumy's tokenizer interface without nltk's punkt download."""

    language = "english"

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(split_sentences(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(re.findall(r"[A-Za-z0-9’'-]+", sentence))


def first_words(sentences: list[str], limit: int) -> str:
    out: list[str] = []
    for s in sentences:
        if len(" ".join([*out, s]).split()) > limit:
            continue
        out.append(s)
    return " ".join(out)


def main() -> None:
    ref = reference()
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)

    start = time.perf_counter()
    doc = extract_pdf(PDF.read_bytes(), url=PDF.as_uri())
    ours = summarise(doc, words=WORDS).summary
    seconds = time.perf_counter() - start

    cli_start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "digest.cli", "summarise", str(PDF), "--json", "--words", str(WORDS)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cli_seconds = time.perf_counter() - cli_start
    assert json.loads(out)["summary"] == ours, "the CLI and the library disagree"

    text_words = doc.text.split()
    lead = " ".join(text_words[:WORDS])
    parser = PlaintextParser.from_string(doc.text.replace("\n\n", "\n"), OfflineTokenizer())
    lex_start = time.perf_counter()
    ranked = LexRankSummarizer(Stemmer("english"))(parser.document, 60)
    lexrank = first_words([str(s) for s in ranked], WORDS)
    lex_seconds = time.perf_counter() - lex_start

    # A post of about 2,000 words (issue 4: < 100 ms): the South Yorkshire blog post, twice over.
    post = extract_text(BLOG.read_text(encoding="utf-8"), url="blog")
    long_post = Document(url=post.url, title=post.title, text="\n\n".join([post.text] * 2), format="text")
    runs = 20
    post_start = time.perf_counter()
    for _ in range(runs):
        summarise(long_post)
    post_ms = (time.perf_counter() - post_start) / runs * 1000

    rows = {"digest summarise": ours, "lead 300 words": lead, "sumy LexRank": lexrank}
    scores = {name: scorer.score(ref, text) for name, text in rows.items()}
    print(f"reference: the blog's summary, {len(ref.split())} words; candidates at {WORDS} words")
    print(f"{'':<18} {'ROUGE-1':>8} {'ROUGE-2':>8} {'ROUGE-L':>8}   (F1; ROUGE-2 precision/recall)")
    for name, sc in scores.items():
        r2 = sc["rouge2"]
        print(
            f"{name:<18} {sc['rouge1'].fmeasure:8.3f} {r2.fmeasure:8.3f} {sc['rougeL'].fmeasure:8.3f}"
            f"   ({r2.precision:.2f}/{r2.recall:.2f}, {len(rows[name].split())} words)"
        )
    ours_sc = scores["digest summarise"]
    print(f"a {len(long_post.text.split()):,}-word post: {post_ms:.0f} ms to summarise (target < 100 ms)")
    print(
        f"time: extract + summarise {seconds:.2f} s in process; `digest summarise` command {cli_seconds:.2f} s "
        f"(with interpreter start-up); LexRank alone {lex_seconds:.2f} s"
    )
    print(
        f"ratio to baselines (ROUGE-2): {ours_sc['rouge2'].fmeasure / scores['sumy LexRank']['rouge2'].fmeasure:.2f}x "
        f"LexRank, {ours_sc['rouge2'].fmeasure / scores['lead 300 words']['rouge2'].fmeasure:.2f}x lead; target 0.30"
    )
    print(
        f"RESULT rouge1={ours_sc['rouge1'].fmeasure:.3f} rouge2={ours_sc['rouge2'].fmeasure:.3f} "
        f"rougeL={ours_sc['rougeL'].fmeasure:.3f} seconds={seconds:.2f} "
        f"lead_rouge2={scores['lead 300 words']['rouge2'].fmeasure:.3f} "
        f"lexrank_rouge2={scores['sumy LexRank']['rouge2'].fmeasure:.3f} post_ms={post_ms:.0f}"
    )


if __name__ == "__main__":
    main()
