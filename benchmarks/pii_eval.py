"""PII quality on the project's realistic evaluation set: ours against Presidio's pattern recognisers.

Usage: ``.venv/bin/python -m benchmarks.pii_eval`` (also part of ``benchmarks/pii.py``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from benchmarks.common import markdown_table
from benchmarks.pii_presidio import PRESIDIO_TYPES, PresidioPatterns
from stages.pii import PII_TYPES, detect
from stages.pii.evalset import EvalDoc, generate, prf, score, total

Finder = Callable[[str], list[tuple[int, int, str]]]


def ours(text: str) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.type) for s in detect(text)]


def _run(fn: Finder, docs: list[EvalDoc]) -> tuple[dict[str, Counter], float]:
    c0 = time.process_time()
    preds = [fn(d.text) for d in docs]
    return score(docs, preds), time.process_time() - c0


def _fmt(c: Counter | None) -> list[str]:
    if not c or not (c["gold"] or c["pred"]):
        return ["—"] * 4
    m = prf(c)
    return [f"{m['p_exact']:.3f}", f"{m['r_exact']:.3f}", f"{m['p_overlap']:.3f}", f"{m['r_overlap']:.3f}"]


def report(n_per_genre: int = 36, seed: int = 0) -> list[str]:
    docs = generate(n_per_genre, seed)
    size = sum(len(d.text.encode("utf-8")) for d in docs) / 1e6
    ours_c, ours_t = _run(ours, docs)
    peer_c, peer_t = _run(PresidioPatterns(), docs)
    types = [t for t in PII_TYPES if ours_c.get(t, Counter())["gold"]]
    rows = []
    for t in types:
        g = ours_c[t]["gold"]
        rows.append([t, g, *_fmt(ours_c.get(t)), *(_fmt(peer_c.get(t)) if t in PRESIDIO_TYPES else ["—"] * 4)])
    handled = [t for t in types if t != "name"]
    both = [t for t in handled if t in PRESIDIO_TYPES]
    rows.append(["**all handled (no names)**", sum(ours_c[t]["gold"] for t in handled),
                 *_fmt(total(ours_c, handled)), "", "", "", ""])
    rows.append(["**types both handle**", sum(ours_c[t]["gold"] for t in both),
                 *_fmt(total(ours_c, both)), *_fmt(total(peer_c, both))])
    tag_rows = []
    for k in sorted(k for k in ours_c if k.startswith("tag:")):
        a, b = ours_c[k], peer_c.get(k, Counter())
        tag_rows.append([k[4:], a["gold"], f"{a['gold_hit']} ({a['exact']} exact)", f"{b['gold_hit']} ({b['exact']} exact)"])
    trap_rows = []
    for k in sorted(k for k in ours_c if k.startswith("trap:")):
        a, b = ours_c[k], peer_c.get(k, Counter())
        trap_rows.append([k[5:], a["traps"], a["hit"], b["hit"]])
    genres = Counter(d.genre for d in docs)
    return [
        f"### Realistic evaluation set ({len(docs)} documents, {size:.2f} MB; `stages/pii/evalset`, seed {seed})",
        "",
        "Genres (" + ", ".join(f"{g} {n}" for g, n in genres.items()) + "). Span-level precision (P) and "
        "recall (R): *exact* needs the same start, end and type; *overlap* needs the same type and any "
        "overlap. Presidio = its model-free recognisers (`benchmarks/pii_presidio.py`); it has none for "
        "names, addresses or bank accounts (—).",
        "",
        markdown_table(["type", "gold", "ours P exact", "ours R exact", "ours P overlap", "ours R overlap",
                        "Presidio P exact", "Presidio R exact", "Presidio P overlap", "Presidio R overlap"], rows),
        "",
        f"CPU time over the set: ours {ours_t:.2f} s ({size / ours_t:.1f} MB/s), Presidio {peer_t:.2f} s "
        f"({size / peer_t:.2f} MB/s): {peer_t / ours_t:.0f}x.",
        "",
        "Recall per case (gold values found by overlap, exact in brackets):",
        "",
        markdown_table(["case", "gold", "ours", "Presidio"], tag_rows),
        "",
        "Hard negatives per case (look-alikes that must stay; how many any detection touched):",
        "",
        markdown_table(["case", "count", "ours touched", "Presidio touched"], trap_rows),
    ]


if __name__ == "__main__":
    print("\n".join(report()))
