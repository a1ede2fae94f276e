"""``minhash_dedup`` commits each finished phase: a rerun after a crash resumes after the last one."""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa
import pytest

import stages.dedup.minhash_dedup as mh
from core.executors import LocalContext
from core.io import write_parquet_atomic
from stages.dedup import MinHashDedup


def _shards(tmp: Path) -> list[Path]:
    rng = random.Random(5)
    vocab = [f"말{i}" for i in range(300)]
    base = [" ".join(rng.choice(vocab) for _ in range(40)) for _ in range(30)]
    paths = []
    for s in range(3):
        texts = []
        for i in range(50):
            words = base[(i + s) % 30].split()
            words[rng.randrange(40)] = rng.choice(vocab)
            texts.append(" ".join(words) if i % 3 else " ".join(rng.choice(vocab) for _ in range(40)))
        path = tmp / "in" / f"part-{s:05d}.parquet"
        write_parquet_atomic(pa.table({"id": [f"{s}-{i}" for i in range(50)], "text": texts}), path)
        paths.append(path)
    return paths


def _run(inputs: list[Path], out: Path, scratch: Path) -> list[dict]:
    stage = MinHashDedup({"num_bands": 8, "rows_per_band": 4, "keep": "longest"})
    stats = stage.run(inputs, out, out.parent / f"{out.name}-rejects", LocalContext(1, 3, scratch))
    return [{k: v for k, v in s.to_dict().items() if k != "seconds"} for s in stats]


def _bytes(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*.parquet"))}


def _boom(*_a, **_k):
    raise RuntimeError("killed between phases")


def test_rerun_resumes_after_the_last_finished_phase(tmp_path, monkeypatch):
    inputs = _shards(tmp_path)
    want = _run(inputs, tmp_path / "ref" / "seg", tmp_path / "ref" / "scratch")

    out, scratch = tmp_path / "run" / "seg", tmp_path / "run" / "scratch"
    monkeypatch.setattr(mh, "select_partition", _boom)
    with pytest.raises(RuntimeError, match="killed between phases"):
        _run(inputs, out, scratch)
    phases = scratch / "seg" / "_phases"
    assert {p.stem for p in phases.glob("*.json")} == {"key", "signatures", "buckets", "verify", "components"}
    monkeypatch.undo()
    for done in ("signature_shard", "bucket_partition", "verify_partition", "local_components_task"):
        monkeypatch.setattr(mh, done, _boom)  # finished phases must not run again
    got = _run(inputs, out, scratch)
    assert got == want
    assert _bytes(out) == _bytes(tmp_path / "ref" / "seg") and len(_bytes(out)) == 3
    assert _bytes(out.parent / "seg-rejects") == _bytes(tmp_path / "ref" / "seg-rejects")
    assert not (scratch / "seg").exists()  # a finished run leaves no scratch


def test_damaged_phase_output_reruns_that_phase_and_later_ones(tmp_path, monkeypatch):
    inputs = _shards(tmp_path)
    want = _run(inputs, tmp_path / "ref" / "seg", tmp_path / "ref" / "scratch")
    out, scratch = tmp_path / "run" / "seg", tmp_path / "run" / "scratch"
    monkeypatch.setattr(mh, "select_partition", _boom)
    with pytest.raises(RuntimeError):
        _run(inputs, out, scratch)
    monkeypatch.undo()
    edges = sorted((scratch / "seg" / "edges").rglob("*.bin"))
    edges[0].write_bytes(edges[0].read_bytes()[:-16])  # a truncated bucket-phase file
    monkeypatch.setattr(mh, "signature_shard", _boom)  # still finished and intact
    assert _run(inputs, out, scratch) == want
    assert _bytes(out) == _bytes(tmp_path / "ref" / "seg")


def test_changed_input_starts_over(tmp_path, monkeypatch):
    inputs = _shards(tmp_path)
    out, scratch = tmp_path / "run" / "seg", tmp_path / "run" / "scratch"
    monkeypatch.setattr(mh, "select_partition", _boom)
    with pytest.raises(RuntimeError):
        _run(inputs, out, scratch)
    monkeypatch.undo()
    write_parquet_atomic(pa.table({"id": ["x"], "text": ["다른 글 하나 둘 셋"]}), inputs[0])
    want = _run(inputs, tmp_path / "ref" / "seg", tmp_path / "ref" / "scratch")
    assert _run(inputs, out, scratch) == want
