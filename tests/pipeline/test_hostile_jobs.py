"""Jobs over damaged and hostile inputs: counted in the funnel on both executors, bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from core.io import parquet_shards
from pipeline.job import JobError, parse_job
from pipeline.runner import run_job
from sample.demo import write_demo_warc
from sample.hostile import damage_members, member_offsets, write_gzip_bomb_warc, write_long_line_jsonl

REPO = Path(__file__).resolve().parents[2]


def _job(tmp: Path, out: str, paths: list[str], stages: list[dict], **kw) -> dict:
    return {"name": "h", "output_dir": str(tmp / out), "workers": kw.pop("workers", 2), "batch_rows": 32,
            "report": False, "inputs": [{"paths": paths, "source": "web"}], "stages": stages, **kw}


def _outputs(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes()
            for p in sorted(run_dir.glob("stages/**/*.parquet")) if not p.name.startswith(".")}


def test_reader_section_is_validated_and_reaches_the_inputs(tmp_path):
    base = {"name": "x", "output_dir": str(tmp_path), "inputs": [{"paths": [str(tmp_path / "*.jsonl")]}]}
    with pytest.raises(JobError, match="reader.max_body_bytes"):
        parse_job({**base, "reader": {"max_body_bytes": 0}})
    with pytest.raises(JobError, match="reader.max_lines: unknown key"):
        parse_job({**base, "reader": {"max_lines": 5}})
    (tmp_path / "a.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    job = parse_job({**base, "reader": {"max_line_bytes": 1000},
                     "inputs": [{"paths": [str(tmp_path / "*.jsonl")], "id_field": "doc_id"}]})
    (f,) = job.expand_inputs()
    assert f.limits.max_line_bytes == 1000 and f.limits.max_body_bytes == 16 << 20 and f.id_field == "doc_id"


def test_corrupt_member_is_counted_the_same_on_ray_and_local(tmp_path, ray_session):
    clean = tmp_path / "clean"
    clean.mkdir()
    write_demo_warc(clean / "a.warc.gz", seed=1, n_pages=50)
    data = (clean / "a.warc.gz").read_bytes()
    bad_dir = tmp_path / "in"
    bad_dir.mkdir()
    (bad_dir / "a.warc.gz").write_bytes(damage_members(data, [20]))
    (bad_dir / "b.warc.gz").write_bytes(data)
    spans = member_offsets(data)
    funnels, outs = {}, {}
    for executor in ("local", "ray"):
        job = parse_job(_job(tmp_path, executor, [str(bad_dir / "*.warc.gz")], [{"name": "extract"}]))
        result = run_job(job, executor=executor)
        funnels[executor] = result.funnel
        outs[executor] = _outputs(result.run_dir)
    assert outs["local"] == outs["ray"]
    read = funnels["ray"]["stages"][0]
    assert read == funnels["local"]["stages"][0] | {"seconds": read["seconds"]}
    assert read["errors"] == {"warc_corrupt_member": 1} and read["balanced"]
    assert read["extra"]["warc_skipped_bytes"] == spans[20][1] - spans[20][0]
    assert read["docs_in"] == 2 * (2 * 50 + 1) and read["kept"] == 2 * 50 - 1


def test_glob_over_an_empty_file_and_a_directory_is_counted(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text('{"text": "하나"}\n{"text": "둘"}\n', encoding="utf-8")
    (folder / "b.jsonl").write_text("", encoding="utf-8")
    (folder / "c.jsonl").mkdir()
    result = run_job(parse_job(_job(tmp_path, "out", [str(folder / "*.jsonl")], [{"name": "extract"}])))
    read = result.funnel["stages"][0]
    assert read["extra"] == {"input_directory": 1, "input_empty_file": 1}
    assert read["kept"] == 2 and result.funnel["docs_out"] == 2


def test_caller_ids_and_metadata_flow_through_every_stage(tmp_path):
    path = tmp_path / "docs.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(120):
            text = (f"문서 {i}번입니다. 서울시는 오늘 새로운 도서관 운영 계획을 발표했다. "
                    f"시민들은 주말에도 도서관을 이용할 수 있게 된다. 담당자는 {i % 7}월부터 시행한다고 밝혔다. ") * 4
            fh.write(json.dumps({"id": f"doc-{i}", "text": text, "lang_hint": "ko", "tags": ["news", i]},
                                ensure_ascii=False) + "\n")
    stages = [{"name": "extract"}, {"name": "langid", "keep_languages": ["ko"]}, {"name": "exact_dedup"},
              {"name": "minhash_dedup"}, {"name": "pii"},
              {"name": "mix", "budget_tokens": 5000, "sources": [{"name": "ko", "share": 1.0}]}]
    result = run_job(parse_job(_job(tmp_path, "out", [str(path)], stages, workers=1)))
    assert all(s["balanced"] for s in result.funnel["stages"])
    rows = [r for p in parquet_shards(result.output_dir) for r in pq.read_table(p).to_pylist()]
    assert rows and all(r["id"].startswith("doc-") for r in rows)
    first = rows[0]
    assert json.loads(first["metadata"]) == {"lang_hint": "ko", "tags": ["news", int(first["id"][4:])]}


_MEASURE = """
import json, resource, sys
from pipeline.job import load_job
from pipeline.runner import run_job
result = run_job(load_job(sys.argv[1]))
print(json.dumps({"maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "read": result.funnel["stages"][0]}))
"""


def test_hostile_inputs_keep_a_worker_under_1_gib(tmp_path):
    """A 1 GiB gzip bomb and a 20 MiB JSONL line, read and extracted in one worker process."""
    folder = tmp_path / "in"
    folder.mkdir()
    write_gzip_bomb_warc(folder / "bomb.warc.gz", expanded_mib=1024)
    write_long_line_jsonl(folder / "long.jsonl", line_mib=20)
    job = _job(tmp_path, "out", [str(folder / "*")], [{"name": "extract"}], workers=1)
    job_file = tmp_path / "job.yaml"
    job_file.write_text(yaml.safe_dump(job), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", _MEASURE, str(job_file)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["read"]["rejected"] == {"body_too_large": 1, "line_too_long": 1}
    assert report["read"]["kept"] == 3  # the page after the bomb, the lines around the long one
    assert report["maxrss_kib"] < 1024 * 1024, report["maxrss_kib"]
