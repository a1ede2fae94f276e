"""An exclusive lock on a run directory, so two runs never write the same outputs.

The lock is ``fcntl.flock`` on ``<run_dir>/.lock``: the kernel releases it when the holding process
exits, however it dies, so a killed run never leaves a stale lock. The file holds the holder's pid,
host and start time for the message a second run gets. Forked workers share the lock with their
parent (they hold the same open file), which keeps it held while any of them still writes.

While the lock is held every temp file under the run directory belongs to a dead run and may be
removed (temp files carry their writer's pid in their name, so this stays auditable).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"

#: Run directories this process holds, with a nesting count (a kickoff locks, then runs a job).
_HELD: dict[Path, int] = {}


class RunDirBusy(RuntimeError):
    """Another live process holds the run directory."""


def _holder(fh: object) -> str:
    try:
        fh.seek(0)  # type: ignore[attr-defined]
        info = json.loads(fh.read() or "{}")  # type: ignore[attr-defined]
    except (OSError, ValueError):
        info = {}
    return (f"pid {info.get('pid', '?')} on host {info.get('host', '?')} "
            f"since {info.get('started', '?')}")


@contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the exclusive lock of ``run_dir`` (created if needed); raise ``RunDirBusy`` if taken."""
    key = Path(run_dir).resolve()
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    key.mkdir(parents=True, exist_ok=True)
    fh = open(key / LOCK_NAME, "a+", encoding="utf-8")  # noqa: SIM115 - held for the whole run
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunDirBusy(f"run dir {key} is in use by {_holder(fh)}; wait for it or stop it") from None
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                             "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}) + "\n")
        fh.flush()
        _HELD[key] = 1
        try:
            yield
        finally:
            del _HELD[key]
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    finally:
        fh.close()


def remove_stale_temp_files(run_dir: Path) -> int:
    """Delete every ``.*.tmp`` file under ``run_dir``; only call it while holding the lock."""
    key = Path(run_dir).resolve()
    if key not in _HELD:
        raise RuntimeError(f"temp files of {key} may belong to a live run: take its lock first")
    removed = 0
    for stale in key.rglob(".*.tmp"):
        if stale.is_file():
            log.debug("removing %s: temp file of an interrupted run", stale)
            stale.unlink()
            removed += 1
    if removed:
        log.info("removed %d temp files of an interrupted run under %s", removed, key)
    return removed
