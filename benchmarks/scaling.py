"""Scaling from 1 to 2 workers for every curation stage, on shards of the generated demo sample.

Each stage runs alone (after the stages it depends on have produced its input once) over the same
shards with ``workers=1`` and ``workers=2``; the speed-up is time(1) / time(2). Map stages scale by
shards; global stages (dedup, mix) by their parallel phases.

    .venv/bin/python -m benchmarks.scaling [--pages 2000] [--shards 8]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import markdown_table
from core.io import parquet_shards
from pipeline.job import parse_job
from pipeline.runner import run_job
from sample.demo import write_demo_warc

log = logging.getLogger("bench.scaling")
DEMO_JOB = Path(__file__).resolve().parents[1] / "jobs" / "demo.yaml"


def stage_specs() -> list[dict[str, Any]]:
    return yaml.safe_load(DEMO_JOB.read_text(encoding="utf-8"))["stages"]


def run_one(stage: dict[str, Any], inputs: list[Path], fmt: str, out: Path, workers: int) -> tuple[float, Path]:
    if out.exists():
        shutil.rmtree(out)
    job = parse_job({"name": f"scale-{stage['name']}", "output_dir": str(out), "workers": workers, "report": False,
                     "write_rejects": False, "inputs": [{"paths": [str(p) for p in inputs], "format": fmt,
                                                         "source": "web_demo"}], "stages": [stage]})
    t0 = time.perf_counter()
    res = run_job(job)
    return time.perf_counter() - t0, res.output_dir


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=2000, help="pages per generated WARC shard")
    ap.add_argument("--shards", type=int, default=4)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        inputs = []
        for s in range(args.shards):
            p = tmp / "in" / f"demo-{s:02d}.warc.gz"
            p.parent.mkdir(parents=True, exist_ok=True)
            write_demo_warc(p, seed=s, n_pages=args.pages)
            inputs.append(p)
        fmt = "warc"
        rows = []
        for k, stage in enumerate(stage_specs()):
            t1, out1 = run_one(stage, inputs, fmt, tmp / f"{k:02d}-{stage['name']}-1", 1)
            t2, _ = run_one(stage, inputs, fmt, tmp / f"{k:02d}-{stage['name']}-2", 2)
            label = stage["name"] + (f" ({stage['key']})" if "key" in stage else "")
            rows.append([label, len(inputs), t1, t2, t1 / t2])
            # the next stage reads this stage's output
            inputs, fmt = parquet_shards(out1), "parquet"
        print(markdown_table(["stage", "shards", "1 worker s", "2 workers s", "speed-up"], rows))


if __name__ == "__main__":
    main()
