"""Markers record what they vouch for; damage of any kind is found; a run dir lock; full disks."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.io import NoSpaceError, is_no_space, write_json_atomic, write_parquet_atomic, writing
from core.markers import check_record, discard, file_record, marker_damage
from core.runlock import RunDirBusy, remove_stale_temp_files, run_lock

REPO = Path(__file__).resolve().parents[2]


def _parquet(path: Path, rows: int = 500) -> Path:
    write_parquet_atomic(pa.table({"id": [str(i) for i in range(rows)], "text": ["글 " * (i % 9) for i in range(rows)]}),
                         path)
    return path


def _flip(path: Path, offset_from_end: int) -> None:
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0xFF
    path.write_bytes(bytes(data))


def test_record_verifies_and_finds_each_kind_of_damage(tmp_path):
    p = _parquet(tmp_path / "a.parquet")
    rec = file_record(p, tmp_path)
    assert rec["path"] == "a.parquet" and rec["rows"] == 500 and rec["bytes"] == p.stat().st_size
    assert check_record(rec, tmp_path) is None

    original = p.read_bytes()
    p.write_bytes(original[: len(original) // 2])
    assert "truncated" in check_record(rec, tmp_path).reason
    p.write_bytes(original)
    _flip(p, 20)  # inside the footer (the thrift metadata ends 8 bytes before the end)
    assert "footer" in check_record(rec, tmp_path).reason
    p.write_bytes(original)
    _flip(p, 3)  # the magic bytes
    assert "footer" in check_record(rec, tmp_path).reason
    p.unlink()
    assert check_record(rec, tmp_path).reason == "missing"

    j = tmp_path / "plan.json"
    write_json_atomic({"a": 1}, j)
    jrec = file_record(j, tmp_path)
    assert "sha256" in jrec and check_record(jrec, tmp_path) is None
    j.write_text(j.read_text().replace("1", "2"))  # same size, other contents
    assert "checksum" in check_record(jrec, tmp_path).reason


def test_marker_damage_and_discard(tmp_path):
    out = _parquet(tmp_path / "out" / "part-00000.parquet")
    marker = tmp_path / "_stats" / "part-00000.json"
    write_json_atomic({"stages": [], "outputs": [file_record(out, tmp_path)], "rejects": []}, marker)
    assert marker_damage(marker, tmp_path) == []
    old = tmp_path / "_stats" / "old.json"
    write_json_atomic({"stages": []}, old)
    assert "older version" in marker_damage(old, tmp_path)[0].reason
    out.write_bytes(out.read_bytes()[:-10])
    [d] = marker_damage(marker, tmp_path)
    assert d.path == "out/part-00000.parquet"
    discard(marker, tmp_path)
    assert not marker.exists() and not out.exists()


def test_lock_refuses_a_second_holder_and_frees_when_the_holder_dies(tmp_path):
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from core.runlock import run_lock\n"
         "with run_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)", str(run_dir)],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunDirBusy, match=rf"in use by pid {holder.pid} on host .* since .*wait for it or stop it"):
            with run_lock(run_dir):
                pass
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with run_lock(run_dir):  # the kernel released the killed holder's lock
        with run_lock(run_dir):  # re-entrant within one process
            pass


def test_temp_files_are_removed_only_under_the_lock(tmp_path):
    stale = tmp_path / "stages" / f".part-00000.parquet.{os.getpid()}.abc.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"x")
    with pytest.raises(RuntimeError, match="take its lock"):
        remove_stale_temp_files(tmp_path)
    with run_lock(tmp_path):
        assert remove_stale_temp_files(tmp_path) == 1
    assert not stale.exists()


def test_temp_files_carry_the_writer_pid(tmp_path, monkeypatch):
    seen = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (seen.append(Path(a).name), real(a, b)))
    _parquet(tmp_path / "x.parquet", rows=3)
    assert seen and seen[0].startswith(f".x.parquet.{os.getpid()}.") and seen[0].endswith(".tmp")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_device_is_named(tmp_path):
    with pytest.raises(NoSpaceError, match="no space left on device writing /dev/full") as info:
        with writing("/dev/full"), open("/dev/full", "wb") as fh:
            fh.write(b"x" * 10_000)
    assert info.value.errno == errno.ENOSPC and info.value.filename == "/dev/full"
    with pytest.raises(OSError) as short:  # numpy reports only a short write, without errno
        np.zeros(100_000).tofile("/dev/full")
    assert is_no_space(short.value)
    # Arrow's own message for the same failure (an open stream: given a path, write_table would
    # delete the device file on failure)
    with pytest.raises(OSError) as arrow, pa.OSFile("/dev/full", "wb") as sink:
        pq.write_table(pa.table({"a": np.arange(100_000)}), sink)
    assert is_no_space(arrow.value)


def test_parquet_writer_reports_no_space_with_the_path(tmp_path, monkeypatch):
    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", full)
    with pytest.raises(NoSpaceError, match=r"writing .*out\.parquet"):
        _parquet(tmp_path / "out.parquet")
    assert not list(tmp_path.glob(".*.tmp"))
