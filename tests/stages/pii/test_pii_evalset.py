"""The realistic evaluation set: deterministic, well-formed gold, and the quality goals."""

from __future__ import annotations

import pytest

from stages.pii import PII_TYPES, detect
from stages.pii.evalset import GENRES, generate, prf, score, total


@pytest.fixture(scope="module")
def docs():
    return generate()


def test_deterministic_and_sized(docs) -> None:
    assert len(docs) >= 300
    again = generate()
    assert [(d.text, d.gold, d.traps) for d in again] == [(d.text, d.gold, d.traps) for d in docs]
    assert generate(seed=1)[0].text != docs[0].text
    assert {d.genre for d in docs} == set(GENRES)


def test_gold_spans_well_formed(docs) -> None:
    for d in docs:
        marks = sorted([(s, e) for s, e, _, _ in d.gold] + [(s, e) for s, e, _ in d.traps])
        assert all(0 <= s < e <= len(d.text) for s, e in marks)
        assert all(a[1] <= b[0] for a, b in zip(marks, marks[1:])), "gold and traps never overlap"
        assert all(t in PII_TYPES for _, _, t, _ in d.gold)
        assert all(d.text[s:e] == d.text[s:e].strip() for s, e in marks)


def test_quality_goals(docs) -> None:
    counts = score(docs, [[(s.start, s.end, s.type) for s in detect(d.text)] for d in docs])
    handled = [t for t in PII_TYPES if t != "name"]
    m = prf(total(counts, handled))
    assert m["r_overlap"] >= 0.95 and m["p_overlap"] >= 0.95
    names = prf(counts["name"])
    assert names["r_exact"] >= 0.85 and names["p_exact"] >= 0.95
    for key, c in counts.items():
        if key.startswith("trap:") and key != "trap:public_figure":
            assert c["hit"] == 0, key
    assert counts["trap:public_figure"]["hit"] <= 0.05 * counts["trap:public_figure"]["traps"]


def test_presidio_peer_runs_offline(docs) -> None:
    pytest.importorskip("presidio_analyzer")
    from benchmarks.pii_presidio import PresidioPatterns

    spans = PresidioPatterns()("메일 hong@naver.com 전화 010-1234-5678")
    assert [t for _, _, t in spans] == ["email", "phone"]
