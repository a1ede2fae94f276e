"""Core pipeline: stage accounting, job validation, executors, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from pipeline.job import JobError, load_job, parse_job
from pipeline.runner import run_job

REPO = Path(__file__).resolve().parents[2]


def _jsonl_inputs(tmp: Path, n_files: int, n_docs: int) -> str:
    for f in range(n_files):
        with open(tmp / f"in-{f:02d}.jsonl", "w", encoding="utf-8") as fh:
            for i in range(n_docs):
                text = f"문서 {f}-{i}: " + "한국어 텍스트와 English words. " * (1 + i % 7)
                if i % 13 == 0:
                    text = ""
                fh.write(json.dumps({"text": text, "url": f"https://ex{f}.kr/{i}"}, ensure_ascii=False) + "\n")
            fh.write("{broken json\n")
    return str(tmp / "in-*.jsonl")


def _job(tmp: Path, out: str, pattern: str, **kw) -> dict:
    return {"name": "t", "output_dir": str(tmp / out), "workers": kw.pop("workers", 2), "batch_rows": 64,
            "report": False,
            "inputs": [{"paths": [pattern], "source": "test"}],
            "stages": [{"name": "extract"}], **kw}


def _outputs(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes()
            for p in sorted(run_dir.glob("stages/**/*.parquet")) if not p.name.startswith(".")}


def test_job_validation_messages(tmp_path):
    with pytest.raises(JobError, match="unknown key"):
        parse_job({"name": "x", "output_dir": "o", "inputs": [{"paths": ["a"]}], "bogus": 1})
    with pytest.raises(JobError, match="stages.0. .extract.: engine"):
        parse_job({"name": "x", "output_dir": "o", "inputs": [{"paths": ["a"]}],
                   "stages": [{"name": "extract", "engine": "nope"}]})
    with pytest.raises(JobError, match="unknown stage 'nope'"):
        parse_job({"name": "x", "output_dir": "o", "inputs": [{"paths": ["a"]}], "stages": [{"name": "nope"}]})
    with pytest.raises(JobError, match="batch_rows"):
        parse_job({"name": "x", "output_dir": "o", "inputs": [{"paths": ["a"]}], "batch_rows": "many"})
    with pytest.raises(JobError, match="inputs"):
        parse_job({"name": "x", "output_dir": "o"})
    job = parse_job({"name": "x", "output_dir": str(tmp_path), "inputs": [{"paths": [str(tmp_path / "none.jsonl")]}]})
    with pytest.raises(JobError, match="input not found"):
        job.expand_inputs()
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed", encoding="utf-8")
    with pytest.raises(JobError, match="not valid YAML"):
        load_job(bad)


def test_local_run_funnel_balances_and_is_deterministic(tmp_path):
    pattern = _jsonl_inputs(tmp_path, 3, 300)
    a = run_job(parse_job(_job(tmp_path, "a", pattern)))
    b = run_job(parse_job(_job(tmp_path, "b", pattern, workers=1)))
    assert _outputs(a.run_dir) == _outputs(b.run_dir)
    f = json.loads((a.run_dir / "funnel.json").read_text())
    read, extract = f["stages"]
    assert read["docs_in"] == 903 and read["errors"] == {"jsonl_decode": 3}
    assert extract["rejected"] == {"empty": 3 * 24} and extract["docs_in"] == read["kept"]
    assert all(s["balanced"] for s in f["stages"])
    manifest = json.loads((a.run_dir / "manifest.json").read_text())
    assert manifest["rows"] == f["docs_out"] and len(manifest["files"]) == 3
    rejects = list((a.run_dir / "rejects").rglob("part-*.parquet"))
    assert len(rejects) == 3


def test_ray_executor_matches_local(tmp_path, ray_session):
    pattern = _jsonl_inputs(tmp_path, 3, 200)
    local = run_job(parse_job(_job(tmp_path, "local", pattern)), executor="local")
    ray_run = run_job(parse_job(_job(tmp_path, "ray", pattern)), executor="ray")
    assert _outputs(local.run_dir) == _outputs(ray_run.run_dir)
    assert local.funnel["stages"][1]["kept"] == ray_run.funnel["stages"][1]["kept"]


def test_killed_run_resumes_to_identical_output(tmp_path):
    pattern = _jsonl_inputs(tmp_path, 12, 3000)
    job = _job(tmp_path, "killed", pattern, workers=1)
    job_file = tmp_path / "job.yaml"
    job_file.write_text(yaml.safe_dump(job), encoding="utf-8")
    cmd = [sys.executable, "-m", "pipeline.cli", "run", str(job_file)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    stats_glob = "stages/00-extract-*/_stats/part-*.json"
    deadline = time.time() + 120
    while time.time() < deadline and len(list((tmp_path / "killed").glob(stats_glob))) < 2:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list((tmp_path / "killed").glob(stats_glob)))
    assert 0 < done_before < 12, "the run must be killed midway"
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
    full = run_job(parse_job(_job(tmp_path, "full", pattern, workers=1)))
    assert _outputs(tmp_path / "killed") == _outputs(full.run_dir)
    assert not list((tmp_path / "killed").rglob(".*.tmp"))
    def strip_time(f: dict) -> dict:
        return {**f, "stages": [{k: v for k, v in s.items() if k != "seconds"} for s in f["stages"]]}

    assert strip_time(json.loads((tmp_path / "killed" / "funnel.json").read_text())) == strip_time(full.funnel)


def test_cli_stage_runs_one_stage(tmp_path):
    pattern = _jsonl_inputs(tmp_path, 1, 50)
    out = tmp_path / "one.parquet"
    rejects = tmp_path / "rej.parquet"
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "stage", "extract", "--input",
                        pattern.replace("*", "00"), "--output", str(out), "--rejects", str(rejects),
                        "--set", "min_text_chars=30"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    import pyarrow.parquet as pq

    assert pq.read_metadata(out).num_rows == report["docs_out"] > 0
    assert pq.read_metadata(rejects).num_rows == report["stages"][1]["docs_in"] - report["docs_out"]


def test_cli_reports_bad_job_clearly(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\noutput_dir: o\ninputs: [{paths: [a]}]\nstages: [{name: extract, enginee: x}]\n")
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(bad)], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "enginee: unknown key" in r.stderr


def test_final_output_partitioned_by_column(tmp_path):
    from core.io import write_parquet_atomic

    rows = [{"id": str(i), "text": f"text number {i}", "lang": ["ko", "en", None][i % 3]} for i in range(30)]
    src = tmp_path / "in.parquet"
    write_parquet_atomic(pa.Table.from_pylist(rows), src)
    job = parse_job({"name": "p", "output_dir": str(tmp_path / "run"), "workers": 1, "report": False,
                     "partition_by": "lang", "inputs": [{"paths": [str(src)], "source": "s"}],
                     "stages": [{"name": "extract"}]})
    res = run_job(job)
    import pyarrow.parquet as pq

    parts = {p.parent.name: pq.read_table(p).num_rows for p in res.output_dir.rglob("*.parquet")}
    assert parts == {"lang=ko": 10, "lang=en": 10, "lang=__HIVE_DEFAULT_PARTITION__": 10}
    assert json.loads((res.run_dir / "manifest.json").read_text())["rows"] == 30


def test_demo_job_identical_on_ray_and_local(tmp_path, ray_session):
    """Every stage of the demo job, global ones included, gives the same bytes on both executors."""
    data = yaml.safe_load((REPO / "jobs" / "demo.yaml").read_text(encoding="utf-8"))
    data["inputs"][0].update({"demo_pages": 300, "demo_shards": 2})
    data["report"] = False
    outs = {}
    for executor in ("local", "ray"):
        job = parse_job({**data, "output_dir": str(tmp_path / executor)})
        res = run_job(job, executor=executor)
        assert all(s["balanced"] for s in res.funnel["stages"])
        outs[executor] = _outputs(res.run_dir)
    assert outs["local"] == outs["ray"] and len(outs["local"]) >= 10


def test_changed_job_reruns_instead_of_resuming(tmp_path):
    pattern = _jsonl_inputs(tmp_path, 2, 100)
    first = run_job(parse_job(_job(tmp_path, "run", pattern, workers=1)))
    kept_first = first.funnel["docs_out"]
    job = _job(tmp_path, "run", pattern, workers=1)
    job["stages"] = [{"name": "extract", "min_text_chars": 100}]
    second = run_job(parse_job(job))
    assert second.output_dir != first.output_dir and not first.output_dir.exists()
    assert 0 < second.funnel["docs_out"] < kept_first
    assert len(list((second.run_dir / "stages").iterdir())) == 1


def test_same_stage_twice_in_one_pass_is_counted_per_position(tmp_path):
    pattern = _jsonl_inputs(tmp_path, 2, 100)
    job = _job(tmp_path, "twice", pattern, workers=1)
    job["stages"] = [{"name": "extract"}, {"name": "extract", "min_text_chars": 100}]
    res = run_job(parse_job(job))
    names = [s["stage"] for s in res.funnel["stages"]]
    assert names == ["read", "extract", "extract#2"]
    first, second = res.funnel["stages"][1:]
    assert second["docs_in"] == first["kept"] and all(s["balanced"] for s in res.funnel["stages"])
    import pyarrow.parquet as pq

    assert sum(pq.read_metadata(p).num_rows for p in res.output_dir.glob("*.parquet")) == res.funnel["docs_out"]


def test_all_rejected_shard_keeps_the_schema_of_the_others(tmp_path):
    import pyarrow.parquet as pq

    from core.io import write_parquet_atomic

    for name, texts in (("a", ["some text here"] * 5), ("b", ["   ", ""]), ("c", ["more text"] * 3)):
        write_parquet_atomic(pa.table({"text": texts, "score": [0.5] * len(texts)}), tmp_path / f"{name}.parquet")
    job = parse_job({"name": "s", "output_dir": str(tmp_path / "run"), "workers": 1, "report": False,
                     "inputs": [{"paths": [str(tmp_path / "*.parquet")], "source": "s"}],
                     "stages": [{"name": "extract"}, {"name": "extract"}]})
    res = run_job(job)
    schemas = [pq.read_schema(p) for p in sorted(res.output_dir.glob("*.parquet"))]
    assert len(schemas) == 3 and pq.read_metadata(sorted(res.output_dir.glob("*.parquet"))[1]).num_rows == 0
    assert all(s.names == schemas[0].names for s in schemas) and "score" in schemas[0].names
    import duckdb

    n = duckdb.sql(f"select count(*) from read_parquet('{res.output_dir}/*.parquet')").fetchall()[0][0]
    assert n == 8


def test_same_named_files_in_different_folders_get_distinct_ids(tmp_path):
    for folder in ("2024", "2025"):
        (tmp_path / "in" / folder).mkdir(parents=True)
        with open(tmp_path / "in" / folder / "part-0.jsonl", "w", encoding="utf-8") as fh:
            for i in range(5):
                fh.write(json.dumps({"text": f"{folder} 문서 {i} " * 20}, ensure_ascii=False) + "\n")
    job = parse_job(_job(tmp_path, "out", str(tmp_path / "in" / "**" / "*.jsonl"), workers=1))
    names = sorted(f.name for f in job.expand_inputs())
    assert names == ["2024/part-0.jsonl", "2025/part-0.jsonl"]
    res = run_job(job)
    ids = [i for p in sorted(res.output_dir.glob("*.parquet")) for i in pq.read_table(p).column("id").to_pylist()]
    assert len(ids) == 10 and len(set(ids)) == 10


def test_file_names_in_ids_do_not_change_when_other_folders_join(tmp_path):
    for folder in ("2024", "2025"):
        (tmp_path / "in" / folder).mkdir(parents=True)
        (tmp_path / "in" / folder / "part-0.jsonl").write_text('{"text": "x"}\n', encoding="utf-8")
    both = parse_job(_job(tmp_path, "o", str(tmp_path / "in" / "*" / "*.jsonl")))
    one = parse_job(_job(tmp_path, "o", str(tmp_path / "in" / "2024" / "*.jsonl")))
    assert [f.name for f in both.expand_inputs()] == ["2024/part-0.jsonl", "2025/part-0.jsonl"]
    assert [f.name for f in one.expand_inputs()] == ["part-0.jsonl"]  # its own pattern's fixed folder
    clash = _job(tmp_path, "o", str(tmp_path / "in" / "2024" / "*.jsonl"))
    clash["inputs"][0]["paths"].append(str(tmp_path / "in" / "2025" / "part-0.jsonl"))
    with pytest.raises(JobError, match="would share ids"):
        parse_job(clash).expand_inputs()
