"""A run directory on object storage, mirrored from a local staging folder.

Object stores have no atomic rename, so a run whose ``output_dir`` is a bucket URL works in a local
*staging* folder exactly as a local run does, and publishes each finished unit of work to the
bucket: every data file its marker records first (each one object, whole or absent), the marker
last. A marker on the bucket therefore never vouches for an object that is not there yet.

The bucket is the truth. Before a run trusts finished work, ``pull`` checks every marker on the
bucket against the objects it records (a size from a ``HEAD`` and the Parquet footer from one range
read; other files by SHA-256) and brings the staging folder into agreement: verified shards are
downloaded when the staging folder lacks them, damaged ones lose their marker (on the bucket and in
staging) so that they are recomputed, and staged shards the bucket has no marker for are discarded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from core import fs
from core.markers import Damage, check_record, discard, marker_damage, read_marker, recorded_files

log = logging.getLogger(__name__)

#: Bytes read from the end of a Parquet object to get its footer in one request (usually enough).
FOOTER_READ = 64 << 10
_MAGIC = b"PAR1"


def staging_dir(url: str) -> Path:
    """The local folder a run on ``url`` is staged in: ``$AXK1_CACHE_DIR/runs/<hash of the URL>``
    (default cache: ``$XDG_CACHE_HOME/axk1`` or ``~/.cache/axk1``)."""
    root = os.environ.get("AXK1_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "axk1")
    digest = hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]
    return Path(root) / "runs" / digest


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def upload_file(local: Path, root: Path, url: str) -> None:
    """Upload one staged file to the same relative place under ``url``."""
    fs.put_file(local, fs.join(url, _rel(local, root)))


def upload_marker(marker: Path, root: Path, url: str) -> None:
    """Publish a finished unit of work: every file its marker records, then the marker itself."""
    payload = read_marker(marker) or {}
    for rec in recorded_files(payload):
        fs.put_file(root / rec["path"], fs.join(url, rec["path"]))
    upload_file(marker, root, url)


def remote_record_damage(rec: dict[str, Any], url: str) -> Damage | None:
    """``None`` when the object at ``url/<rec path>`` is as its record says, else what is wrong."""
    target = fs.join(url, rec["path"])
    if not fs.exists(target):
        return Damage(rec["path"], "missing on the bucket")
    size = fs.file_size(target)
    if size != rec["bytes"]:
        return Damage(rec["path"], f"{size} bytes on the bucket, {rec['bytes']} recorded (truncated or changed)")
    if "footer" in rec:
        try:
            footer = _remote_footer(target, size)
        except ValueError as exc:
            return Damage(rec["path"], f"unreadable Parquet footer: {exc}")
        if hashlib.blake2b(footer, digest_size=8).hexdigest() != rec["footer"]:
            return Damage(rec["path"], "Parquet footer differs from the recorded one (changed)")
    elif "sha256" in rec and hashlib.sha256(fs.read_bytes(target)).hexdigest() != rec["sha256"]:
        return Damage(rec["path"], "contents differ from the recorded checksum (changed)")
    return None


def _remote_footer(target: str, size: int) -> bytes:
    """The footer bytes of a Parquet object: one range read of its tail (two for a huge footer)."""
    if size < 12:
        raise ValueError(f"{size} bytes is too short for Parquet")
    tail = fs.read_range(target, max(0, size - FOOTER_READ), min(size, FOOTER_READ))
    if tail[-4:] != _MAGIC:
        raise ValueError("no Parquet magic at the end (truncated?)")
    length = int.from_bytes(tail[-8:-4], "little")
    if length + 12 > size:
        raise ValueError(f"footer length {length} exceeds the file")
    if length + 8 <= len(tail):
        return tail[len(tail) - 8 - length:-8]
    return fs.read_range(target, size - 8 - length, length)


def remote_markers(url: str, segment: str) -> dict[str, str]:
    """Markers of one segment on the bucket: relative path -> URL."""
    prefix = fs.join(url, "stages", segment, "_stats")
    base = url.rstrip("/") + "/"
    return {u[len(base):]: u for u in fs.listdir(prefix) if u.endswith(".json")}


def pull(root: Path, url: str, segments: list[str], trust_staged: bool = False) -> None:
    """Bring the staging folder ``root`` into agreement with the bucket for ``segments`` (see the
    module docstring): afterwards a staged marker exists exactly where a verified one is on the bucket.

    ``trust_staged`` (right after this process published a segment) skips re-checking the objects
    of markers the staging folder holds identically; markers other machines published are checked.
    """
    for segment in segments:
        remote = remote_markers(url, segment)
        stats_dir = root / "stages" / segment / "_stats"
        for local in sorted(stats_dir.glob("*.json")) if stats_dir.exists() else []:
            if _rel(local, root) not in remote:
                log.info("%s: not published to %s; recomputing", _rel(local, root), url)
                discard(local, root)
        for rel, marker_url in sorted(remote.items()):
            _pull_marker(root, url, rel, marker_url, trust_staged)


def _pull_marker(root: Path, url: str, rel: str, marker_url: str, trust_staged: bool) -> None:
    local = root / rel
    try:
        payload = json.loads(fs.read_bytes(marker_url))
    except (ValueError, UnicodeDecodeError):
        payload = None
    if trust_staged and payload is not None and local.is_file() and read_marker(local) == payload:
        return
    damage = ([Damage(rel, "unreadable marker on the bucket")] if not isinstance(payload, dict)
              or "outputs" not in payload else
              [d for rec in recorded_files(payload) if (d := remote_record_damage(rec, url)) is not None])
    if damage:
        for d in damage:
            log.warning("%s: %s; recomputing", url.rstrip("/") + "/" + rel, d)
        fs.remove(marker_url)
        if local.exists():
            discard(local, root)
        return
    assert isinstance(payload, dict)
    if local.is_file() and read_marker(local) == payload and not marker_damage(local, root):
        return
    for rec in recorded_files(payload):
        if check_record(rec, root) is not None:
            fs.download(fs.join(url, rec["path"]), root / rec["path"])
    fs.download(marker_url, local)


def remove_segments(url: str, segments: list[str]) -> None:
    """Delete segments' outputs and rejects from the bucket (recomputed or stale)."""
    for segment in segments:
        for parent in ("stages", "rejects"):
            fs.remove(fs.join(url, parent, segment), recursive=True)


def publish_tree(root: Path, url: str, names: list[str]) -> None:
    """Upload files and folders ``names`` (relative to ``root``) that exist in staging."""
    for name in names:
        path = root / name
        if path.is_file():
            upload_file(path, root, url)
        elif path.is_dir():
            for p in sorted(path.rglob("*")):
                if p.is_file() and not p.name.startswith("."):
                    upload_file(p, root, url)


def prune(root: Path, url: str, parents: list[str]) -> None:
    """Delete objects under ``url/<parent>`` that the staging folder does not hold (outputs of
    earlier configurations, files of recomputed work that no longer exist)."""
    base = url.rstrip("/") + "/"
    for parent in parents:
        for u in fs.listdir(fs.join(url, parent)):
            rel = u[len(base):]
            if not (root / rel).is_file():
                log.info("removing %s: not part of this run's output", u)
                fs.remove(u)


def _is_marker(rel: str) -> bool:
    """Step markers (``_step.json``, ``_eval_step.json`` ...) are published last and fetched last."""
    name = rel.rsplit("/", 1)[-1]
    return name.startswith("_") and name.endswith(".json")


def _local_listing(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


def _remote_listing(prefix: str) -> dict[str, int]:
    base = prefix.rstrip("/") + "/"
    return {u[len(base):]: fs.file_size(u) for u in fs.listdir(prefix)}


def _same_folder(folder: Path, prefix: str) -> bool:
    """The staged folder and the bucket prefix hold the same files, sizes and step markers."""
    local, remote = _local_listing(folder), _remote_listing(prefix)
    return local == remote and all(
        (folder / rel).read_bytes() == fs.read_bytes(fs.join(prefix, rel)) for rel in local if _is_marker(rel))


def publish_step(root: Path, url: str, step_dir: Path) -> None:
    """Publish a finished downstream step's folder (tokenizer, shards, train): unless the bucket
    already holds the same files, withdraw its markers, upload every file, delete objects the folder
    no longer has, and upload the markers last."""
    step_dir = Path(step_dir)
    if not step_dir.resolve().is_relative_to(root.resolve()):
        log.warning("%s is outside the run directory; not published to %s", step_dir, url)
        return
    prefix = fs.join(url, _rel(step_dir, root))
    if _same_folder(step_dir, prefix):
        return
    local = _local_listing(step_dir)
    remote = _remote_listing(prefix)
    for rel in remote:
        if _is_marker(rel) or rel not in local:
            fs.remove(fs.join(prefix, rel))
    for rel in sorted(local, key=_is_marker):
        fs.put_file(step_dir / rel, fs.join(prefix, rel))
    log.info("published %s to %s", step_dir.name, prefix)


def pull_step(root: Path, url: str, name: str) -> None:
    """Fetch a downstream step folder the bucket holds as finished (it has ``_step.json``) when the
    staging folder's copy differs; markers are fetched last, so a killed fetch is never trusted."""
    prefix = fs.join(url, name)
    if not fs.exists(fs.join(prefix, "_step.json")):
        return
    folder = root / name
    if folder.is_dir() and _same_folder(folder, prefix):
        return
    if folder.exists():
        shutil.rmtree(folder)
    for rel in sorted(_remote_listing(prefix), key=_is_marker):
        fs.download(fs.join(prefix, rel), folder / rel)
    log.info("fetched step %s from %s", name, prefix)
