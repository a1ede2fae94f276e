"""PII benchmark: throughput per core, recall per type, false positives, against datatrove's PIIFormatter.

Usage: ``.venv/bin/python benchmarks/pii.py [--quick] [--out benchmarks/results/pii.md]``

Text (all from ../shared/data):
* Korean web text: EUC-KR blog RSS/HTML pages (C2, raw markup kept), Kiwi's blog/tweet/wiki
  sentence sets (D2), KLUE-NLI premises (D7), NSMC movie reviews (D3).
* English web text: the article bodies of the Scrapinghub extraction benchmark (B1).
Each is measured as is ("clean") and with synthetic PII injected into every document ("+PII",
2 values per document from ``stages.pii.synthetic``), the worst case for the Python part.

Throughput is CPU seconds of this single process (MB of UTF-8 text per CPU-second = MB/s/core),
for: our stage with all detectors; our stage with e-mail and IP only; datatrove's PIIFormatter
(e-mail and IP only) over the same strings.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import markdown_table, shared  # noqa: E402
from benchmarks.pii_eval import report as evalset_report  # noqa: E402
from core.stats import StageStats  # noqa: E402
from stages.pii import PII_TYPES, PiiStage, detect  # noqa: E402
from stages.pii.synthetic import GENERATORS, HARD_NEGATIVES, inject  # noqa: E402

BATCH_ROWS = 256

NOTES = """### Reading the numbers

* How it is fast: per batch, RE2 prefilters (`pyarrow.compute.match_substring_regex`, one union per
  detector group, then one pass per detector on the flagged rows only) pick the (detector, document)
  pairs worth running; Python regexes (bounded, atomic where ambiguous, first digit consumed before
  the look-behind so `re` can skip ahead) then validate candidates (dates, checksums, context words).
  "detectors run per doc" counts those pairs; four detectors that start from a literal (`@`, `://`,
  `+`, `-----BEGIN`) always run because Python finds their literal faster than an RE2 pass.
* Clean web text is the common case: all types run at well over the 20 MB/s/core target, faster
  than datatrove's two-type formatter on the same strings. The `+PII` rows put two values into every
  document, so every detector group fires everywhere: a stress case that lands around the target.
* E-mail/IP agreement: every replacement datatrove makes is covered by one of ours (its e-mail regex
  caught a sentence-final address we missed in an earlier version; that case is now a unit test).
* Synthetic recall is optimistic by construction (the same code base writes the generator and the
  detectors); it checks spellings, not discovery. The Presidio cases are independent: every miss
  there is a deliberate context rule (bare 10-digit BRN, bare 12-digit licence, old-style passport
  and bare 13-digit registration numbers without a valid check digit need a context word nearby,
  because ids, millisecond timestamps and order numbers share those shapes), or a national phone
  format we do not cover without +CC (Israel 09-, Japan 090-, China bare 11 digits). The phone fp
  count comes from Presidio's duplicated leniency cases, which contradict each other.
* Names (`stages/pii/names.py`, context cues only) cost about a quarter of the CPU on Korean web
  text: almost every Korean document holds a cue word (님, 씨, 대표, 이름 ...), so the RE2 prefilter
  passes most of them to Python. English text is unaffected.
* The evaluation set is a development set: the detectors were adjusted while reading their misses on
  it, so its 0.98-1.00 scores prove each listed case is handled, not how the stage does on unseen
  text. Presidio's scores there show what the hard cases do to a pattern-only peer.
* Names found in the Korean web text (about 100) were read by hand: nearly all are people written
  with 씨 or 님, mostly actors in NSMC movie reviews (장동건씨, 임창정씨) and people in KLUE news
  premises; a handful are nicknames (하늘이님). No politician with an office title is touched.
* Detections on the real text were read by hand: the other Korean and English ones are all real e-mail
  addresses and phone numbers (bylines, RSS author fields, contact lines). The raw HTML pages (not
  what the stage sees in the pipeline, which runs on extracted text) add API keys in page scripts
  (real secrets), client IPs echoed in JSON, mailto addresses and contact phones; the false positives
  left there are version strings inside JSON or generator comments (`"2.4.17.1"`, `SEO Pack 2.3.11.4`),
  a few SVG path fragments (`3.12.62.65`) and one IPv6-looking run in minified script.
"""


# ---------------------------------------------------------------- corpora
def korean_web() -> list[str]:
    euckr = shared("C2_chardet_korean_legacy_charsets", "tests", "EUC-KR")
    docs = [f.read_bytes().decode("cp949", "replace") for f in sorted(euckr.iterdir()) if f.is_file()]
    sents = shared("D2_kiwipiepy_benchmarks", "benchmark", "sentence_split", "testset")
    docs += [f.read_text("utf-8", "replace") for f in sorted(sents.glob("*.txt"))]
    klue = shared("D7_klue_nli_dev", "klue_benchmark", "klue-nli-v1.1", "klue-nli-v1.1_dev.json")
    premises = sorted({x["premise"] for x in json.loads(klue.read_text("utf-8"))})
    docs += ["\n".join(premises[i:i + 20]) for i in range(0, len(premises), 20)]
    reviews = []
    for f in sorted(shared("D3_nsmc_raw_sample", "raw").glob("*.json")):
        reviews += [r["review"] for r in json.loads(f.read_text("utf-8")) if isinstance(r, dict)]
    docs += ["\n".join(reviews[i:i + 50]) for i in range(0, len(reviews), 50)]
    return docs


def raw_html_pages(limit: int | None = None) -> list[str]:
    """The B1 pages as raw HTML (scripts, JSON, SVG and all): a stress test for precision."""
    import tarfile

    pages = []
    with tarfile.open(shared("B1_scrapinghub_article_extraction_benchmark", "html.tar.gz")) as tar:
        for member in sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith(".html")),
                             key=lambda m: m.name)[:limit]:
            fh = tar.extractfile(member)
            if fh is not None:
                pages.append(fh.read().decode("utf-8", "replace"))
    return pages


def english_web() -> list[str]:
    gt = json.loads(shared("B1_scrapinghub_article_extraction_benchmark", "ground-truth.json").read_text("utf-8"))
    return [gt[k]["articleBody"] for k in sorted(gt)]


def with_pii(docs: list[str], per_doc: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    types = sorted(GENERATORS)
    out = []
    for d in docs:
        for _ in range(per_doc):
            d, _span = inject(d, rng, types[rng.randrange(len(types))])
        out.append(d)
    return out


def mb(docs: list[str]) -> float:
    return sum(len(d.encode("utf-8")) for d in docs) / 1e6


# ---------------------------------------------------------------- throughput
def run_ours(config: dict, docs: list[str]) -> tuple[float, float, Counter]:
    stage = PiiStage(config)
    stage.ensure_setup()
    table = pa.table({"text": pa.array(docs, pa.string())})
    stats = StageStats("pii")
    w0, c0 = time.perf_counter(), time.process_time()
    for off in range(0, table.num_rows, BATCH_ROWS):
        stage.process(table.slice(off, BATCH_ROWS), stats)
    return time.process_time() - c0, time.perf_counter() - w0, Counter(stats.extra)


def run_datatrove(docs: list[str]) -> tuple[float, float, Counter]:
    from datatrove.pipeline.formatters import PIIFormatter

    fmt = PIIFormatter()
    found: Counter = Counter()
    w0, c0 = time.perf_counter(), time.process_time()
    for d in docs:
        out = fmt.format(d)
        if out != d:
            found["changed_docs"] += 1
    return time.process_time() - c0, time.perf_counter() - w0, found


def throughput(corpora: dict[str, list[str]], repeats: int) -> list[list]:
    rows = []
    email_ip = {"default_action": "off", "actions": {"email": "replace", "ip": "replace"}}
    impls = [
        (f"ours, all {len(PII_TYPES)} types", lambda d: run_ours({}, d)),
        ("ours, e-mail + IP only", lambda d: run_ours(email_ip, d)),
        ("datatrove PIIFormatter (e-mail + IP)", run_datatrove),
    ]
    for cname, docs in corpora.items():
        size = mb(docs)
        for iname, fn in impls:
            best_cpu, best_wall, extra = float("inf"), float("inf"), Counter()
            for _ in range(repeats):
                cpu, wall, extra = fn(docs)
                best_cpu, best_wall = min(best_cpu, cpu), min(best_wall, wall)
            found = sum(v for k, v in extra.items() if k.startswith("pii.") and k[4:] in PII_TYPES)
            runs = extra.get("pii.detector_runs", "")
            rows.append([cname, f"{size:.2f}", iname, round(size / best_cpu, 1), round(size / best_wall, 1),
                         found if iname.startswith("ours") else f"{extra['changed_docs']} docs changed",
                         f"{runs / len(docs):.1f}" if runs != "" else ""])
    return rows


# ---------------------------------------------------------------- quality
def recall_table(n_per_type: int, bases: list[str]) -> list[list]:
    rows = []
    for t in sorted(GENERATORS):
        rng = random.Random(f"recall-{t}")
        hit = 0
        for _ in range(n_per_type):
            text, (s, e) = inject(rng.choice(bases), rng, t)
            hit += any(sp.type == t and sp.start <= s and sp.end >= e for sp in detect(text))
        rows.append([t, n_per_type, hit, round(hit / n_per_type, 4)])
    return rows


def presidio_table() -> list[list]:
    path = shared("E2_presidio_korean_id_testcases", "presidio_kr_and_contact_testcases.json")
    types = {"email": {"email"}, "kr_brn": {"brn"}, "kr_driver_license": {"driver_license"}, "kr_frn": {"frn"},
             "kr_passport": {"passport"}, "kr_rrn": {"rrn"}, "phone": {"phone"}}
    agg: dict[str, Counter] = {}
    for c in json.loads(path.read_text("utf-8")):
        kind = Path(c["_source_file"]).name[5:-len("_recognizer.py")]
        got = [[s.start, s.end] for s in detect(c["text"]) if s.type in types[kind]]
        exp = c["expected_positions"]
        a = agg.setdefault(kind, Counter())
        a["cases"] += 1
        a["exact"] += got == exp
        a["tp"] += sum(1 for g in got if g in exp)
        a["fp"] += sum(1 for g in got if g not in exp)
        a["fn"] += sum(1 for x in exp if x not in got)
    rows = []
    for kind, a in sorted(agg.items()):
        p = a["tp"] / (a["tp"] + a["fp"]) if a["tp"] + a["fp"] else 1.0
        r = a["tp"] / (a["tp"] + a["fn"]) if a["tp"] + a["fn"] else 1.0
        rows.append([kind, a["cases"], a["exact"], a["tp"], a["fp"], a["fn"], round(p, 3), round(r, 3)])
    return rows


def real_text_detections(corpora: dict[str, list[str]]) -> list[list]:
    rows = []
    for name, docs in corpora.items():
        c: Counter = Counter(sp.type for d in docs for sp in detect(d))
        rows.append([name, f"{mb(docs):.2f}", sum(c.values()),
                     ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "none"])
    return rows


def datatrove_agreement(corpora: dict[str, list[str]]) -> list[list]:
    """Per corpus: e-mails/IPs datatrove's PIIFormatter replaces that our detectors do not cover."""
    import difflib

    from datatrove.pipeline.formatters import PIIFormatter

    fmt = PIIFormatter()
    rows = []
    for name, docs in corpora.items():
        dt_changed = only_dt = ours_total = 0
        for d in docs:
            ours = [d[s.start:s.end] for s in detect(d, types={"email", "ip"})]
            ours_total += len(ours)
            out = fmt.format(d)
            if out == d:
                continue
            dt_changed += 1
            ops = difflib.SequenceMatcher(None, d, out, autojunk=False).get_opcodes()
            removed = [d[i1:i2] for tag, i1, i2, _j1, _j2 in ops if tag != "equal" and i2 > i1]
            only_dt += any(not any(x in y for y in ours) for x in removed)
        rows.append([name, len(docs), ours_total, dt_changed, only_dt])
    return rows


# ---------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one repeat, smaller corpora")
    ap.add_argument("--out", type=Path, default=None, help="write the markdown results here")
    args = ap.parse_args()
    repeats = 1 if args.quick else 3
    scale = 1 if args.quick else 4  # corpora repeated to reach a few MB per measurement

    ko, en = korean_web(), english_web()
    corpora = {
        "Korean web": ko * scale,
        "Korean web +PII": with_pii(ko, 2, seed=1) * scale,
        "English web": en * scale,
        "English web +PII": with_pii(en, 2, seed=2) * scale,
    }
    t_rows = throughput(corpora, repeats)
    bases = [s for d in ko for s in d.split("\n") if 20 <= len(s) <= 300][:5000]
    r_rows = recall_table(100 if args.quick else 500, bases)
    p_rows = presidio_table()
    neg_hits = [t for t in HARD_NEGATIVES if detect(t)]
    html = raw_html_pages(40 if args.quick else None)
    d_rows = real_text_detections({"Korean web": ko, "English web": en, "raw HTML pages (B1)": html})
    a_rows = datatrove_agreement({name: docs[:len(docs) // scale] for name, docs in corpora.items()})
    e_lines = evalset_report()

    cmd = "`.venv/bin/python benchmarks/pii.py" + (" --quick" if args.quick else "") + "`"
    out = [
        "## PII scrubbing (`pii` stage)",
        "",
        f"Command: {cmd}  ",
        f"Machine: 2-core x86 VM ({platform.machine()}), Python {platform.python_version()}; other work was "
        "running on the machine at the same time, so wall-clock numbers are noisy; MB/s/core uses this "
        "process's CPU time.  ",
        f"Text: Korean web {mb(ko):.2f} MB / {len(ko)} docs (EUC-KR blog RSS+HTML, Kiwi blog/tweet/wiki sets, "
        f"KLUE premises, NSMC reviews), English web {mb(en):.2f} MB / {len(en)} docs (B1 article bodies); "
        f"repeated x{scale} for timing; `+PII` adds 2 synthetic values per document.",
        "",
        "### Throughput (batches of 256 documents, one process)",
        "",
        markdown_table(["text", "MB", "implementation", "MB/s/core (CPU)", "MB/s (wall)", "found",
                        "detectors run per doc"], t_rows),
        "",
        "E-mail/IP agreement with datatrove (same documents, not repeated):",
        "",
        markdown_table(["text", "docs", "our e-mail+IP spans", "docs datatrove changed",
                        "docs with a datatrove replacement we miss"], a_rows),
        "",
        *e_lines,
        "",
        "### Recall on synthetic values (inserted into Korean sentences; generator spellings in "
        "`stages/pii/synthetic.py`)",
        "",
        markdown_table(["type", "n", "found", "recall"], r_rows),
        "",
        "### Presidio test cases (E2), spans compared exactly",
        "",
        markdown_table(["recognizer file", "cases", "exact", "tp", "fp", "fn", "precision", "recall"], p_rows),
        "",
        f"### False positives: {len(neg_hits)} of {len(HARD_NEGATIVES)} hard negatives flagged"
        + (f" ({', '.join(repr(x) for x in neg_hits)})" if neg_hits else ""),
        "",
        "Hard negatives: dates, times, timestamps, prices, order/tracking numbers, ISBN/ISSN, 15xx/080 "
        "business numbers, coordinates, version/build strings, hashes, UUIDs, decimals, netmasks, "
        "`image@2x.png`, checksum failures, Korean prose with 로/길/동 before numbers, key-like words.",
        "",
        "Detections on the real text as is (no injection):",
        "",
        markdown_table(["text", "MB", "detections", "by type"], d_rows),
        "",
        NOTES,
    ]
    text = "\n".join(out) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
