"""A run verifies what it trusts: damaged outputs are recomputed with everything downstream,
``axk1 verify`` names them, and environment problems are one-line errors."""

from __future__ import annotations

import errno
import json
import logging
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from core.runlock import run_lock
from pipeline.cli import main
from pipeline.job import parse_job
from pipeline.runner import run_job

REPO = Path(__file__).resolve().parents[2]


def _inputs(tmp: Path) -> str:
    """Three JSONL shards: distinct documents, near-duplicates across shards, one broken line each."""
    rng = random.Random(11)
    words = [chr(0xAC00 + i) + chr(0xAC00 + 7 * i % 11172) for i in range(2000)]  # no digits: they normalise away
    base = [[rng.choice(words) for _ in range(30)] for _ in range(40)]
    for f in range(3):
        with open(tmp / f"in-{f}.jsonl", "w", encoding="utf-8") as fh:
            for i in range(60):
                doc = list(base[(i + 13 * f) % 40]) if i % 4 == 0 else [rng.choice(words) for _ in range(30)]
                doc[-1] = rng.choice(words)  # near, not exact, duplicates
                text = "" if i % 17 == 0 else " ".join(doc)
                fh.write(json.dumps({"text": text, "url": f"https://ex{f}.kr/{i}"}, ensure_ascii=False) + "\n")
            fh.write("{broken\n")
    return str(tmp / "in-*.jsonl")


def _job(tmp: Path, out: str, pattern: str) -> dict:
    return {"name": "dmg", "output_dir": str(tmp / out), "workers": 1, "batch_rows": 32, "report": False,
            "inputs": [{"paths": [pattern], "source": "t"}],
            "stages": [{"name": "extract"}, {"name": "minhash_dedup", "num_bands": 8, "rows_per_band": 4},
                       {"name": "mix", "budget_tokens": 20_000, "rows_per_file": 40,
                        "sources": [{"name": "all", "share": 1.0, "max_epochs": 3}]}]}


def _outputs(run_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(run_dir)): p.read_bytes()
            for p in sorted(run_dir.glob("stages/**/*")) if p.is_file() and not p.name.startswith(".")
            and "_stats" not in p.parts}


def _books(run_dir: Path) -> dict:
    m = json.loads((run_dir / "manifest.json").read_text())
    return {"files": m["files"], "rows": m["rows"], "bytes": m["bytes"]}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ref")
    pattern = _inputs(tmp)
    run_job(parse_job(_job(tmp, "ref", pattern)))
    return tmp, pattern


def _target(run_dir: Path, which: str) -> Path:
    if which == "first_pass":
        return next(run_dir.glob("stages/00-*/part-00001.parquet"))
    if which == "minhash":
        return next(run_dir.glob("stages/01-minhash_dedup-*/part-00001.parquet"))
    return sorted(run_dir.glob("stages/02-mix-*/mix_source=all/part-*.parquet"))[1]


def _damage(path: Path, how: str) -> None:
    if how == "delete":
        path.unlink()
    elif how == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:  # one byte of the footer's metadata
        data = bytearray(path.read_bytes())
        data[-12] ^= 0xFF
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("which", ["first_pass", "minhash", "mix"])
@pytest.mark.parametrize("how", ["delete", "truncate", "footer"])
def test_damaged_output_is_found_recomputed_and_verified(reference, tmp_path, which, how, capsys, caplog):
    ref_tmp, pattern = reference
    ref = ref_tmp / "ref"
    run = tmp_path / "run"
    shutil.copytree(ref, run)
    assert main(["verify", str(run)]) == 0
    target = _target(run, which)
    rel = str(target.relative_to(run))
    _damage(target, how)
    capsys.readouterr()
    assert main(["verify", str(run)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"DAMAGED {rel}: ") for line in lines), lines

    with caplog.at_level(logging.WARNING):
        run_job(parse_job(_job(ref_tmp, "ignored", pattern) | {"output_dir": str(run)}))
    assert any(rel in r.getMessage() and "recomputing" in r.getMessage() for r in caplog.records)
    assert _outputs(run) == _outputs(ref)
    assert _books(run) == _books(ref)
    assert main(["verify", str(run)]) == 0


def test_damage_on_ray_is_recomputed(reference, tmp_path, ray_session):
    ref_tmp, pattern = reference
    run = tmp_path / "run"
    shutil.copytree(ref_tmp / "ref", run)
    _damage(_target(run, "first_pass"), "truncate")
    run_job(parse_job(_job(ref_tmp, "x", pattern) | {"output_dir": str(run)}), executor="ray")
    assert _outputs(run) == _outputs(ref_tmp / "ref")
    assert main(["verify", str(run)]) == 0


def test_verify_checks_the_funnel_and_usage(reference, tmp_path, capsys):
    ref_tmp, _ = reference
    run = tmp_path / "run"
    shutil.copytree(ref_tmp / "ref", run)
    marker = next(run.glob("stages/00-*/_stats/part-00000.json"))
    payload = json.loads(marker.read_text())
    payload["stages"][1]["kept"] += 1  # books that no longer balance
    marker.write_text(json.dumps(payload))
    stray = next(run.glob("stages/00-*")) / "part-00099.parquet"
    shutil.copy(_target(run, "first_pass"), stray)
    capsys.readouterr()
    assert main(["verify", str(run)]) == 1
    out = capsys.readouterr().out
    assert f"{marker.relative_to(run)}: stage extract:" in out and "!= " in out
    assert f"{stray.relative_to(run)}: not recorded by any marker" in out
    assert "funnel.json: counts differ" in out
    assert main(["verify", str(tmp_path / "nowhere")]) == 2
    (run / "manifest.json").unlink()
    assert main(["verify", str(run)]) == 1
    assert "manifest.json: missing" in capsys.readouterr().out


def test_deleted_marker_recomputes_its_shard_and_later_segments(reference, tmp_path, caplog):
    """A deleted completion marker alone (outputs intact) recomputes the shard and what follows."""
    ref_tmp, pattern = reference
    run = tmp_path / "run"
    shutil.copytree(ref_tmp / "ref", run)
    next(run.glob("stages/00-*/_stats/part-00002.json")).unlink()
    with caplog.at_level(logging.WARNING):
        run_job(parse_job(_job(ref_tmp, "x", pattern) | {"output_dir": str(run)}))
    assert any("recomputing it and the 2 segments after it" in r.getMessage() for r in caplog.records)
    assert _outputs(run) == _outputs(ref_tmp / "ref")


def _job_file(tmp: Path, pattern: str, **kw) -> Path:
    job = {"name": "one", "output_dir": str(tmp / "run"), "workers": 1, "report": False,
           "inputs": [{"paths": [pattern], "source": "t"}], "stages": [{"name": "extract"}], **kw}
    path = tmp / "job.yaml"
    path.write_text(yaml.safe_dump(job), encoding="utf-8")
    return path


def test_second_run_on_a_locked_dir_is_refused(reference, tmp_path):
    job = _job_file(tmp_path, reference[1])
    with run_lock(tmp_path / "run"):
        r = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", str(job)], cwd=REPO,
                           capture_output=True, text=True)
    assert r.returncode == 2
    assert f"is in use by pid {__import__('os').getpid()} on host" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run" / "stages").exists()


def test_bad_input_is_one_line(reference, tmp_path, caplog, monkeypatch):
    job = _job_file(tmp_path, reference[1])
    caplog.set_level(logging.ERROR)
    assert main(["run", str(job), "--workers", "-1"]) == 2
    assert "workers: Input should be greater than or equal to 0" in caplog.text
    caplog.clear()
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert main(["run", str(job), "--output-dir", str(a_file)]) == 2
    assert f"output_dir {a_file} is a file, not a directory" in caplog.text
    caplog.clear()

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    assert main(["run", str(job)]) == 2
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    message = record.getMessage()
    assert message.startswith("no space left on device writing ") and "stages/00-extract-" in message
    assert "\n" not in message


def test_cli_stage_errors_are_one_line(tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    assert main(["stage", "nope", "--input", "x", "--output", str(tmp_path / "o.parquet")]) == 2
    assert "unknown stage 'nope'" in caplog.text
    assert main(["stage", "extract", "--input", str(tmp_path / "none.jsonl"),
                 "--output", str(tmp_path / "o.parquet")]) == 2
    assert "does not exist" in caplog.text
    assert main(["stage", "extract", "--input", "x", "--output", "o", "--set", "min_text_chars=-3"]) == 2
    assert "min_text_chars" in caplog.text
