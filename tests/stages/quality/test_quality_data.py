"""Quality stage on real Korean text: KLUE-NLI premises (D7) joined into documents."""

from __future__ import annotations

import json

import pyarrow as pa

from core.stats import StageStats
from stages.quality.stage import QualityStage
from tests.conftest import shared_path


def test_default_korean_filters_keep_real_reference_text():
    path = shared_path("D7_klue_nli_dev", "klue_benchmark", "klue-nli-v1.1", "klue-nli-v1.1_dev.json")
    by_src: dict[str, list[str]] = {}
    for row in json.loads(path.read_text(encoding="utf-8")):
        premises = by_src.setdefault(row["source"], [])
        if row["premise"] not in premises:
            premises.append(row["premise"])
    docs = []
    for sents in by_src.values():
        for i in range(0, len(sents) - 11, 12):
            part = sents[i:i + 12]
            docs.append("\n".join(" ".join(part[j:j + 3]) for j in range(0, 12, 3)))
    stage = QualityStage({})
    stage.ensure_setup()
    out = stage.process(pa.table({"id": [str(i) for i in range(len(docs))], "text": docs}), StageStats("quality"))
    reasons = out.column("reject_reason").to_pylist()
    keep = sum(r is None for r in reasons) / len(docs)
    assert len(docs) > 60
    assert keep >= 0.9, {r: reasons.count(r) for r in set(reasons)}
    assert set(out.column("quality_lang").to_pylist()) == {"ko"}
