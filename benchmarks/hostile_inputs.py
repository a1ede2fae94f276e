"""Peak memory and outcome of one worker on hostile inputs, with the default reader and extractor caps.

Each case is a generated file (``sample/hostile.py``) run as a one-worker job in its own process
under ``/usr/bin/time -v``; the table lists the peak RSS, the seconds and what the funnel counted.
A second row per case runs with the caps lifted (reader caps 4 GiB, no nesting cap) to show what
they prevent.

    .venv/bin/python -m benchmarks.hostile_inputs [--no-uncapped]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.common import REPO, markdown_table
from sample.hostile import (
    write_deep_html_warc,
    write_gzip_bomb_warc,
    write_huge_record_warc,
    write_long_line_jsonl,
)

log = logging.getLogger("bench.hostile")
_CHILD = """
import json, sys
from pipeline.job import load_job
from pipeline.runner import run_job
result = run_job(load_job(sys.argv[1]))
print(json.dumps([{k: s[k] for k in ("stage", "rejected", "errors")} for s in result.funnel["stages"]]))
"""
_ALL_STAGES = [{"name": "langid", "mode": "lines"}, {"name": "quality"}, {"name": "pii"}]
_UNCAPPED = {"max_body_bytes": 4 << 30, "max_line_bytes": 4 << 30}


def cases(tmp: Path) -> list[tuple[str, Path, list[dict]]]:
    """(label, input file, stages after extract) for every hostile input."""
    return [
        ("gzip bomb, 1 GiB expanded", write_gzip_bomb_warc(tmp / "bomb.warc.gz", 1024), []),
        ("record body 256 MiB", write_huge_record_warc(tmp / "huge.warc.gz", 256), []),
        ("HTML nested 20k deep (resiliparse)", write_deep_html_warc(tmp / "deep.warc.gz", 20_000), []),
        ("JSONL line 20 MiB", write_long_line_jsonl(tmp / "long20.jsonl", 20), _ALL_STAGES),
        ("JSONL line 15 MiB (under the cap), every map stage",
         write_long_line_jsonl(tmp / "long15.jsonl", 15), _ALL_STAGES),
    ]


def run_case(tmp: Path, label: str, path: Path, stages: list[dict], reader: dict, timeout: int) -> list:
    engine = "resiliparse" if "resiliparse" in label else "trafilatura"
    job = {"name": "hostile", "output_dir": str(tmp / f"run-{path.stem}-{len(reader)}"), "workers": 1,
           "report": False, "inputs": [{"paths": [str(path)], "source": "hostile"}], "reader": reader,
           "stages": [{"name": "extract", "engine": engine, **({"max_html_depth": 1 << 30} if reader else {})},
                      *stages]}
    job_file = tmp / "job.yaml"
    job_file.write_text(yaml.safe_dump(job), encoding="utf-8")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", _CHILD, str(job_file)], cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [label, "capped" if not reader else "uncapped", "-", f">{timeout}", "timed out"]
    seconds = time.perf_counter() - t0
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if proc.returncode != 0:
        outcome = f"exit {proc.returncode}: {proc.stderr.strip().splitlines()[-1][:80] if proc.stderr else ''}"
    else:
        funnel = json.loads(proc.stdout.strip().splitlines()[-1])
        outcome = "; ".join(f"{s['stage']}: {dict(s['rejected']) | dict(s['errors'])}" for s in funnel
                            if s["rejected"] or s["errors"]) or "all kept"
    mib = int(rss.group(1)) / 1024 if rss else float("nan")
    return [label, "capped" if not reader else "uncapped", round(mib), round(seconds, 1), outcome]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-uncapped", action="store_true", help="skip the runs with the caps lifted")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per run")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for label, path, stages in cases(tmp):
            new = [run_case(tmp, label, path, stages, {}, args.timeout)]
            if not args.no_uncapped and "under the cap" not in label:
                new.append(run_case(tmp, label, path, stages, _UNCAPPED, args.timeout))
            log.info("%s", new)
            rows += new
    print("\n### One worker on hostile inputs\n")
    print(markdown_table(["input", "caps", "peak RSS MiB", "seconds", "funnel"], rows))


if __name__ == "__main__":
    main()
