"""Span-level scoring of predicted PII spans against an evaluation set, per type and per case tag."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from stages.pii.evalset.generate import EvalDoc

#: A predicted span: (start, end, type).
Pred = tuple[int, int, str]


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score(docs: Sequence[EvalDoc], preds: Sequence[Iterable[Pred]]) -> dict[str, Counter]:
    """Counts per type: gold, pred, exact (same span and type), gold_hit / pred_hit (overlap, same type).

    Also per tag: ``tag:<tag>`` with gold and gold_hit (overlap recall of that case), and per trap tag
    ``trap:<tag>`` with traps and hit (traps any prediction of any type overlaps).
    """
    out: dict[str, Counter] = {}
    for doc, ps in zip(docs, preds):
        ps = list(ps)
        for s, e, t in ps:
            c = out.setdefault(t, Counter())
            c["pred"] += 1
            c["exact"] += any((s, e, t) == (gs, ge, gt) for gs, ge, gt, _ in doc.gold)
            c["pred_hit"] += any(gt == t and _overlaps((s, e), (gs, ge)) for gs, ge, gt, _ in doc.gold)
        for gs, ge, gt, tag in doc.gold:
            hit = any(t == gt and _overlaps((s, e), (gs, ge)) for s, e, t in ps)
            c = out.setdefault(gt, Counter())
            c["gold"] += 1
            c["gold_hit"] += hit
            tc = out.setdefault(f"tag:{tag}", Counter())
            tc["gold"] += 1
            tc["gold_hit"] += hit
            tc["exact"] += any((s, e, t) == (gs, ge, gt) for s, e, t in ps)
        for ts, te, tag in doc.traps:
            c = out.setdefault(f"trap:{tag}", Counter())
            c["traps"] += 1
            c["hit"] += any(_overlaps((s, e), (ts, te)) for s, e, _ in ps)
    return out


def prf(c: Counter) -> dict[str, float]:
    """Precision and recall, exact and overlap, from one type's counts (1.0 when nothing to count)."""
    def div(a: int, b: int) -> float:
        return a / b if b else 1.0
    return {"p_exact": div(c["exact"], c["pred"]), "r_exact": div(c["exact"], c["gold"]),
            "p_overlap": div(c["pred_hit"], c["pred"]), "r_overlap": div(c["gold_hit"], c["gold"])}


def total(counts: dict[str, Counter], types: Iterable[str]) -> Counter:
    """Sum of the per-type counts over ``types``."""
    out: Counter = Counter()
    for t in types:
        out.update(counts.get(t, Counter()))
    return out
