"""``axk1 stage`` on global stages (dedup) over a file and over a folder of mixed formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]

_BASE = ("서울시는 올해 대중교통 요금 체계를 바꾸고 심야 버스 노선을 늘린다고 밝혔다 시민 의견을 모아 "
         "다음 달까지 세부 계획을 확정할 예정이며 환승 할인 범위도 넓힌다 관계자는 출퇴근 시간 혼잡을 줄이는 것이 목표라고 말했다")


def _docs(n: int, tag: str) -> list[dict]:
    rows = []
    for i in range(n):
        seed = sum(map(ord, tag)) * 977 + i * 131
        words = ("".join(chr(0xAC00 + (seed + 37 * k + 11 * j) % 11172) for j in range(3)) for k in range(30))
        text = _BASE if i % 3 == 0 else " ".join(words)
        rows.append({"id": f"{tag}-{i}", "text": text})
    return rows


def _axk1(*args: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "stage", *args], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_global_stage_on_one_file(tmp_path: Path) -> None:
    src = tmp_path / "docs.jsonl"
    src.write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in _docs(9, "a")) + "\n", encoding="utf-8")
    out, rej = tmp_path / "kept.parquet", tmp_path / "rej.parquet"
    report = _axk1("exact_dedup", "--input", str(src), "--output", str(out), "--rejects", str(rej))
    kept, rejects = pq.read_table(out), pq.read_table(rej)
    assert kept.num_rows == report["docs_out"] == 7 and rejects.num_rows == 2
    assert set(rejects.column("dup_representative_id").to_pylist()) <= set(kept.column("id").to_pylist())
    assert set(rejects.column("reject_reason").to_pylist()) == {"exact_duplicate"}


def test_global_stage_on_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jsonl").write_text("\n".join(json.dumps(d, ensure_ascii=False) for d in _docs(6, "a")) + "\n",
                                    encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(_docs(6, "b")), folder / "sub" / "b.parquet")
    (folder / "notes.txt").write_text("not an input")
    out, rej = tmp_path / "out", tmp_path / "rej"
    report = _axk1("minhash_dedup", "--input", str(folder), "--output", str(out), "--rejects", str(rej),
                   "--set", "threshold=0.7", "--workers", "2")
    kept = pa.concat_tables([pq.read_table(p) for p in sorted(out.glob("*.parquet"))], promote_options="permissive")
    rejects = pa.concat_tables([pq.read_table(p) for p in sorted(rej.glob("*.parquet"))],
                              promote_options="permissive")
    assert len(list(out.glob("*.parquet"))) == 2  # one shard per input file
    assert kept.num_rows + rejects.num_rows == 12 and rejects.num_rows == 3  # 4 copies of _BASE -> 1
    assert kept.num_rows == report["docs_out"]
    cluster = {r["dup_cluster_id"] for r in rejects.to_pylist()}
    assert len(cluster) == 1 and set(rejects.column("dup_representative_id").to_pylist()) <= set(
        kept.column("id").to_pylist())
    # a map stage takes a folder too, concatenated into one file
    one = tmp_path / "quality.parquet"
    rep = _axk1("quality", "--input", str(folder), "--output", str(one), "--set", "annotate_only=true")
    assert pq.read_metadata(one).num_rows == rep["docs_out"] == 12
