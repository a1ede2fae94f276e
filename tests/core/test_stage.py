"""The stage interface: per-row accounting, error isolation, strict configs."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from core.stage import Stage, StageConfig, apply_stage
from core.stats import StageStats


class _Cfg(StageConfig):
    min_len: int = 5


class _LengthFilter(Stage):
    """Test stage: rejects short texts, raises on texts containing 'BOOM'."""

    name = "test_length_filter"
    Config = _Cfg
    output_fields = [pa.field("n_chars", pa.int64())]

    def process(self, batch: pa.Table, stats: StageStats) -> pa.Table:
        texts = batch.column("text")
        if pc.any(pc.match_substring(texts, "BOOM")).as_py():
            raise RuntimeError("boom")
        n = pc.utf8_length(texts).cast(pa.int64())
        reason = pc.if_else(pc.less(n, self.config.min_len), "too_short", pa.scalar(None, pa.string()))
        return batch.append_column("n_chars", n).append_column("reject_reason", reason)


def _batch(texts: list[str]) -> pa.Table:
    return pa.table({"id": [str(i) for i in range(len(texts))], "text": texts})


def test_apply_stage_accounts_for_every_row_and_isolates_errors():
    stats = StageStats("t")
    res = apply_stage(_LengthFilter(), _batch(["hello world", "hi", "BOOM here", "long enough"]), stats)
    assert res.kept.column("text").to_pylist() == ["hello world", "long enough"]
    assert stats.rejected == {"too_short": 1} and stats.errors == {"RuntimeError": 1}
    assert stats.balanced() and stats.docs_in == 4
    reasons = res.rejected.column("reject_reason").to_pylist()
    assert sorted(reasons) == ["error:RuntimeError", "too_short"]
    assert set(res.rejected.column("reject_stage").to_pylist()) == {"test_length_filter"}


def test_stage_config_rejects_unknown_keys():
    with pytest.raises(Exception, match="extra"):
        _LengthFilter({"min_length": 3})
