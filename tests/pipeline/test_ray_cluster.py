"""A job on a real three-node Ray cluster (head + 2 workers, separate raylets), submitted through
``RAY_ADDRESS``: same bytes as the local executor, also when a worker node dies mid-job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.io import read_json
from pipeline.job import parse_job
from pipeline.runner import run_job
from sample.demo import ensure_demo_warc

REPO = Path(__file__).resolve().parents[2]
SHARDS = 6
PAGES = 600  # per shard: a few seconds of extraction each, so shards are in flight when the node dies


def _job(tmp: Path, out: str, inputs: Path) -> dict:
    return {"name": "cluster", "output_dir": str(tmp / out), "workers": 2, "batch_rows": 200, "report": False,
            "inputs": [{"paths": [str(inputs / "*.warc.gz")], "source": "web"}],
            "stages": [{"name": "extract", "engine": "trafilatura"}, {"name": "langid"},
                       {"name": "exact_dedup", "key": "content"}]}


def _outputs(run_dir: Path) -> dict[str, bytes]:
    """Every committed Parquet file (outputs and rejects) by path below its segment's folder."""
    out = {}
    for top in ("stages", "rejects"):
        for p in sorted((run_dir / top).rglob("*.parquet")):
            if not p.name.startswith("."):
                rel = p.relative_to(run_dir / top)
                out[f"{top}/{rel}"] = p.read_bytes()
    return out


def _counts(funnel: dict) -> list[tuple]:
    return [(s["stage"], s["docs_in"], s["kept"], json.dumps(s["rejected"], sort_keys=True),
             json.dumps(s["errors"], sort_keys=True)) for s in funnel["stages"]]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster_in")
    for k in range(SHARDS):
        ensure_demo_warc(d, seed=100 + k, n_pages=PAGES)
    return d


@pytest.fixture(scope="module")
def local_run(inputs, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster_local")
    return run_job(parse_job(_job(tmp, "local", inputs)), executor="local")


def _on_cluster(tmp: Path, inputs: Path, kill: bool) -> tuple[dict, Path]:
    job_file = tmp / "job.yaml"
    job_file.write_text(yaml.safe_dump(_job(tmp, "ray", inputs)), encoding="utf-8")
    cmd = [sys.executable, str(REPO / "tests" / "pipeline" / "ray_cluster_harness.py"), str(job_file),
           str(tmp / "ray"), "--timeout", "400"] + (["--kill"] if kill else [])
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=480)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["nodes"] == 3
    assert result["rc"] == 0, result["log_tail"]
    return result, tmp / "ray"


def test_cluster_run_survives_a_dead_worker_node_with_local_bytes(inputs, local_run, tmp_path):
    result, run_dir = _on_cluster(tmp_path, inputs, kill=True)
    assert result.get("killed"), result
    assert result["done_at_kill"] < SHARDS and result["in_flight_at_kill"] == 3  # every node mid-shard
    local = _outputs(local_run.run_dir)
    got = _outputs(run_dir)
    assert sorted(got) == sorted(local)  # same segments (same stamps), same files
    assert all(got[k] == local[k] for k in local)
    funnel = read_json(run_dir / "funnel.json")
    assert _counts(funnel) == _counts(local_run.funnel)
    read = funnel["stages"][0]
    assert read["stage"] == "read" and read["docs_in"] > SHARDS * PAGES  # every record, none lost
    for st in funnel["stages"]:
        assert st["docs_in"] == st["kept"] + sum(st["rejected"].values()) + sum(st["errors"].values())
