"""Committed dedup phases: a rerun after a kill resumes from the last finished phase.

Each finished phase writes ``<work>/_phases/<phase>.json`` with its task results and the path and
size of every scratch file it produced (in the folders the phase owns). On the next run a phase
whose marker is present, whose files are all there at their recorded sizes, and whose run key
(the plan and the identity of every input file) is unchanged, is skipped; the first phase that is
not runs again, after its own and every later phase's files are removed.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.io import read_json, stamp, write_json_atomic
from core.markers import check_record

log = logging.getLogger(__name__)


def _plain(obj: Any) -> Any:
    """JSON-safe copy of task results (numpy scalars and arrays become Python values)."""
    def default(o: Any) -> Any:
        if hasattr(o, "tolist"):
            return o.tolist()
        raise TypeError(f"cannot record {type(o).__name__} in a phase marker")
    return json.loads(json.dumps(obj, default=default))


def input_identity(paths: list[Path]) -> list[list[Any]]:
    """What a phase's inputs are taken to be: path, size and modification time of each file."""
    return [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in paths]


class PhaseLog:
    """The finished phases of one dedup run in ``work``; ``phases`` maps each phase, in order, to
    the scratch folders it writes."""

    def __init__(self, work: Path, phases: dict[str, list[str]], *key_parts: Any) -> None:
        self.work = work
        self.phases = phases
        self.dir = work / "_phases"
        self.key = stamp(*key_parts)
        key_file = self.dir / "key.json"
        if key_file.exists() and read_json(key_file).get("key") != self.key:
            log.info("%s: scratch of a different plan or input; starting over", work.name)
            self._reset(list(phases))
        write_json_atomic({"key": self.key}, key_file)

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        """The results of phase ``name``: recorded ones when it finished before, else ``fn()``'s."""
        done = self._finished(name)
        if done is not None:
            log.info("%s: phase %s already finished, resuming after it", self.work.name, name)
            return done
        order = list(self.phases)
        self._reset(order[order.index(name):])
        results = _plain(fn())
        files = []
        for folder in self.phases[name]:
            root = self.work / folder
            if root.exists():
                files.extend({"path": p.relative_to(self.work).as_posix(), "bytes": p.stat().st_size}
                             for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith("."))
        write_json_atomic({"phase": name, "key": self.key, "results": results, "files": files},
                          self.dir / f"{name}.json")
        return results

    def _finished(self, name: str) -> Any | None:
        marker = self.dir / f"{name}.json"
        if not marker.exists():
            return None
        payload = read_json(marker)
        bad = [d for rec in payload["files"] if (d := check_record(rec, self.work)) is not None]
        if payload.get("key") != self.key or bad:
            if bad:
                log.warning("%s: phase %s: %s; running it again", self.work.name, name, bad[0])
            return None
        return payload["results"]

    def _reset(self, names: list[str]) -> None:
        for name in names:
            (self.dir / f"{name}.json").unlink(missing_ok=True)
            for folder in self.phases[name]:
                shutil.rmtree(self.work / folder, ignore_errors=True)
