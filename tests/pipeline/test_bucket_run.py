"""The same job with inputs and outputs on object storage (a real S3 API server on 127.0.0.1):
byte-identical to a local run, resumable after kill -9, recomputing damaged objects."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from core import fs
from pipeline.cli import main
from pipeline.job import JobError, parse_job
from pipeline.runner import run_job

REPO = Path(__file__).resolve().parents[2]
DEMO_STAGES = yaml.safe_load((REPO / "jobs" / "demo.yaml").read_text(encoding="utf-8"))["stages"]


@pytest.fixture(autouse=True)
def _staging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("AXK1_CACHE_DIR", str(cache))
    return cache


def _demo_inputs(tmp: Path, bucket: str, shards: int = 3, pages: int = 150) -> tuple[str, str]:
    """Demo WARCs in ``tmp/in`` and the same objects under ``bucket/in``: (local glob, URL glob)."""
    from sample.demo import ensure_demo_warc

    for k in range(shards):
        path = ensure_demo_warc(tmp / "in", seed=k, n_pages=pages)
        fs.put_file(path, f"{bucket}/in/{path.name}")
    return str(tmp / "in" / "*.warc.gz"), f"{bucket}/in/*.warc.gz"


def _job(out: str, pattern: str, stages: list, source: str = "web_demo", **kw) -> dict:
    return {"name": "b", "output_dir": out, "workers": 2, "batch_rows": 200, "report": False,
            "inputs": [{"paths": [pattern], "source": source}], "stages": stages, **kw}


def _unstamped(rel: str) -> str:
    """A run file's path without its segment stamp (the stamp covers input identities, and a URL
    is another identity than a local path for the same bytes)."""
    return re.sub(r"-[0-9a-f]{10}(?=/)", "", rel)


def _local_parquet(run_dir: Path) -> dict[str, bytes]:
    return {_unstamped(p.relative_to(run_dir).as_posix()): p.read_bytes() for p in sorted(run_dir.rglob("*.parquet"))
            if not p.name.startswith(".") and p.relative_to(run_dir).parts[0] in ("stages", "rejects")}


def _bucket_parquet(url: str) -> dict[str, bytes]:
    base = url.rstrip("/") + "/"
    return {_unstamped(u[len(base):]): fs.read_bytes(u) for u in fs.listdir(url)
            if u.endswith(".parquet") and u[len(base):].split("/")[0] in ("stages", "rejects")}


def test_demo_job_with_input_and_output_on_a_bucket_matches_local(tmp_path, s3_bucket, _staging, capsys):
    local_glob, url_glob = _demo_inputs(tmp_path, s3_bucket)
    local = run_job(parse_job(_job(str(tmp_path / "local"), local_glob, DEMO_STAGES)))
    expected = _local_parquet(local.run_dir)
    assert any("mix" in k for k in expected) and any(k.startswith("rejects/") for k in expected)

    streamed = run_job(parse_job(_job(str(tmp_path / "streamed"), url_glob, DEMO_STAGES)))
    assert _local_parquet(streamed.run_dir) == expected  # inputs streamed from the bucket

    run_url = f"{s3_bucket}/runs/demo"
    remote = run_job(parse_job(_job(run_url, url_glob, DEMO_STAGES, report=True)))
    assert _bucket_parquet(run_url) == expected
    assert remote.funnel["docs_out"] == local.funnel["docs_out"]
    for name in ("funnel.json", "manifest.json", "job.yaml", "report/index.html"):
        assert fs.exists(f"{run_url}/{name}"), name
    manifest = json.loads(fs.read_bytes(f"{run_url}/manifest.json"))
    assert manifest["rows"] == json.loads((local.run_dir / "manifest.json").read_text())["rows"]
    assert not [u for u in fs.listdir(run_url) if "/scratch/" in u or u.endswith(".tmp")]
    capsys.readouterr()
    assert main(["verify", run_url]) == 0
    assert "OK s3://" in capsys.readouterr().out


def _jsonl(tmp: Path, n_files: int, n_docs: int) -> str:
    tmp.mkdir(parents=True, exist_ok=True)
    for f in range(n_files):
        with open(tmp / f"in-{f:02d}.jsonl", "w", encoding="utf-8") as fh:
            for i in range(n_docs):
                text = f"문서 {f}-{i}: " + "한국어 텍스트와 English words. " * (1 + i % 7)
                fh.write(json.dumps({"text": text, "url": f"https://ex{f}.kr/{i}"}, ensure_ascii=False) + "\n")
    return str(tmp / "in-*.jsonl")


def test_killed_bucket_run_resumes_to_identical_output(tmp_path, s3_bucket, _staging):
    pattern = _jsonl(tmp_path / "in", 10, 3000)
    stages = [{"name": "extract"}]
    run_url = f"{s3_bucket}/killed"
    job_file = tmp_path / "job.yaml"
    job_file.write_text(yaml.safe_dump(_job(run_url, pattern, stages, workers=1, source="t")), encoding="utf-8")
    cmd = [sys.executable, "-m", "pipeline.cli", "run", str(job_file)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=os.environ.copy())

    def published() -> int:
        return sum(1 for u in fs.listdir(f"{run_url}/stages") if "/_stats/part-" in u)

    deadline = time.time() + 120
    while time.time() < deadline and published() < 2 and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = published()
    assert 0 < done_before < 10, "the run must be killed midway"
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=os.environ.copy())
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"{done_before} of 10 shards already done" in r.stderr or "already done" in r.stderr
    full = run_job(parse_job(_job(str(tmp_path / "full"), pattern, stages, workers=1, source="t")))
    assert _bucket_parquet(run_url) == _local_parquet(full.run_dir)
    assert not [u for u in fs.listdir(run_url) if u.endswith(".tmp")]


def test_jsonl_gz_zst_and_parquet_inputs_stream_from_a_bucket(tmp_path, s3_bucket):
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq
    import zstandard

    src = tmp_path / "src"
    src.mkdir()
    lines = [json.dumps({"id": f"d{i}", "text": f"문서 {i} " + "한국어 문장입니다. " * (1 + i % 5)},
                        ensure_ascii=False) for i in range(120)]
    blob = ("\n".join(lines) + "\n").encode()
    (src / "a.jsonl.gz").write_bytes(gzip.compress(blob))
    (src / "b.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(blob))
    pq.write_table(pa.Table.from_pylist([json.loads(x) for x in lines]), src / "c.parquet")
    for f in src.iterdir():
        fs.put_file(f, f"{s3_bucket}/src/{f.name}")
    stages = [{"name": "extract"}]
    local = run_job(parse_job(_job(str(tmp_path / "l"), str(src / "*"), stages, source="t")))
    remote = run_job(parse_job(_job(str(tmp_path / "r"), f"{s3_bucket}/src/*", stages, source="t")))
    assert _local_parquet(remote.run_dir) == _local_parquet(local.run_dir)
    assert remote.funnel["docs_out"] == local.funnel["docs_out"] == 360


def _dedup_stages() -> list:
    return [{"name": "extract"}, {"name": "minhash_dedup", "num_bands": 8, "rows_per_band": 4},
            {"name": "mix", "budget_tokens": 20_000, "rows_per_file": 40,
             "sources": [{"name": "all", "share": 1.0, "max_epochs": 3}]}]


def test_damaged_objects_on_the_bucket_are_recomputed(tmp_path, s3_bucket, _staging, caplog):
    pattern = _jsonl(tmp_path / "in", 3, 60)
    run_url = f"{s3_bucket}/dmg"
    job = _job(run_url, pattern, _dedup_stages(), workers=1, source="t")
    run_job(parse_job(job))
    expected = _bucket_parquet(run_url)
    objects = [u[len(run_url) + 1:] for u in fs.listdir(run_url) if u.endswith(".parquet")]
    shards = sorted(k for k in objects if k.startswith("stages/00-") and "/part-" in k)
    mix = sorted(k for k in objects if k.startswith("stages/02-mix"))
    assert len(shards) == 3 and mix
    fs.remove(f"{run_url}/{shards[1]}")  # deleted
    fs.write_bytes(fs.read_bytes(f"{run_url}/{mix[0]}")[:-100], f"{run_url}/{mix[0]}")  # truncated
    assert main(["verify", run_url]) == 1
    with caplog.at_level(logging.WARNING):
        run_job(parse_job(job))  # the staging folder still holds intact copies: the bucket decides
    text = caplog.text
    assert f"{shards[1]}: missing on the bucket; recomputing" in text
    assert "truncated or changed" in text
    assert _bucket_parquet(run_url) == expected

    import shutil

    shutil.rmtree(_staging)  # a fresh machine: finished work comes down from the bucket
    fs.write_bytes(b"not parquet", f"{run_url}/{shards[0]}")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        run_job(parse_job(job))
    assert f"{shards[0]}: " in caplog.text and "recomputing" in caplog.text
    assert _bucket_parquet(run_url) == expected
    assert main(["verify", run_url]) == 0


def test_bucket_problems_are_one_line_errors(tmp_path, s3_endpoint, s3_bucket, capsys, caplog):
    pattern = _jsonl(tmp_path / "in", 1, 5)
    with pytest.raises(JobError, match="unsupported scheme ftp://"):
        parse_job(_job("ftp://host/run", pattern, [{"name": "extract"}]))
    with pytest.raises(JobError, match=r"inputs\[0\]: input not found: s3://"):
        parse_job(_job(str(tmp_path / "o"), f"{s3_bucket}/nothing.jsonl", [])).expand_inputs()
    job_file = tmp_path / "job.yaml"
    job_file.write_text(yaml.safe_dump(_job("s3://no-such-bucket-zz/run", pattern, [{"name": "extract"}])))
    with caplog.at_level(logging.ERROR):
        assert main(["run", str(job_file)]) == 2
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and "s3://no-such-bucket-zz/run" in errors[-1] and "\n" not in errors[-1]
    assert main(["verify", "s3://no-such-bucket-zz/run"]) == 2



def test_kickoff_on_a_bucket_publishes_every_step_and_resumes_from_it(tmp_path, s3_bucket, _staging):
    """``axk1 run`` in a child process (the trainer's memory stays out of the test process)."""
    import shutil

    data = yaml.safe_load((REPO / "jobs" / "pretrain_kickoff.yaml").read_text(encoding="utf-8"))
    run_url = f"{s3_bucket}/kickoff"
    data["output_dir"] = run_url
    data["inputs"][0].update({"demo_pages": 400, "demo_shards": 2})
    data["tokenizer"].update({"vocab_size": 4096})
    data["pretrain"].update({"steps": 6, "seq_len": 64, "micro_batch": 2, "checkpoint_interval": 3,
                             "log_interval": 2})
    job_file = tmp_path / "kickoff.yaml"
    job_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    cmd = [sys.executable, "-m", "pipeline.cli", "run", str(job_file)]
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    for name in ("tokenizer/tokenizer.json", "tokenizer/eval.json", "tokenizer/_step.json", "shards/manifest.json",
                 "shards/_step.json", "train/metrics.jsonl", "train/_step.json", "kickoff.json",
                 "report/index.html", "manifest.json"):
        assert fs.exists(f"{run_url}/{name}"), name
    metrics = fs.read_bytes(f"{run_url}/train/metrics.jsonl")
    assert json.loads(metrics.decode().splitlines()[-1])["step"] == 6

    shutil.rmtree(_staging)  # another machine: every finished step comes from the bucket
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    for step in ("tokenizer", "pack", "pretrain"):
        assert f"step {step}: up to date" in r.stderr, step
    assert "fetched step train" in r.stderr
    assert fs.read_bytes(f"{run_url}/train/metrics.jsonl") == metrics

def test_unreachable_endpoint_fails_the_run_in_one_line(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    job_file = tmp_path / "job.yaml"
    job_file.write_text(yaml.safe_dump(_job("s3://bucket/run", _jsonl(tmp_path / "in", 1, 5), [{"name": "extract"}])))
    env = {**os.environ, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "k",
           "AWS_SECRET_ACCESS_KEY": "never-logged-9f3a", "AWS_DEFAULT_REGION": "us-east-1", "AXK1_STORAGE_CONNECT_TIMEOUT": "1",
           "AXK1_STORAGE_MAX_ATTEMPTS": "1", "AXK1_CACHE_DIR": str(tmp_path / "cache")}
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(job_file)], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    errors = [line for line in r.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "cannot write s3://bucket/run/job.yaml" in errors[0], r.stderr[-2000:]
    assert "Traceback" not in r.stderr and "never-logged-9f3a" not in r.stderr
    assert time.monotonic() - t0 < 60
