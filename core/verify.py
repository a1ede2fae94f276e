"""Verify a run directory: every file against its marker, and the funnel per stage and per shard.

A run directory holds ``stages/<segment>/`` folders whose ``_stats/`` markers record the files they
vouch for (see ``core.markers``), ``rejects/<segment>/``, ``funnel.json`` and ``manifest.json``.
``verify_run`` lists every problem it finds, one ``Damage`` per file; an empty list means the run is
whole and its books balance (``in = kept + rejected + errors`` per stage and shard, each stage's
input is the previous stage's output, output and reject files hold the rows the counters say).
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from core.markers import Damage, check_record, marker_damage, read_marker, recorded_files
from core.stats import StageStats, merge_stage_lists


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()


def segment_markers(seg_dir: Path, kind: str, shards: int | None) -> list[Path]:
    """The markers a finished segment has: ``global.json``, or one ``part-NNNNN.json`` per shard
    (those present when the shard count is unknown)."""
    stats_dir = seg_dir / "_stats"
    if kind == "global":
        return [stats_dir / "global.json"]
    if shards is None:
        return sorted(stats_dir.glob("part-*.json"))
    return [stats_dir / f"part-{i:05d}.json" for i in range(shards)]


def segment_damage(seg_dir: Path, kind: str, shards: int | None, root: Path) -> list[Damage]:
    """Unfinished shards and damaged files of one segment (empty: complete and intact)."""
    out: list[Damage] = []
    for m in segment_markers(seg_dir, kind, shards):
        if not m.exists():
            out.append(Damage(_rel(m, root), "missing (shard not finished)"))
        else:
            out.extend(marker_damage(m, root))
    return out


def _shard_lists(marker: dict[str, Any]) -> list[list[StageStats]]:
    if "stages_per_shard" in marker:
        return [[StageStats.from_dict(d)] for d in marker["stages_per_shard"]]
    return [[StageStats.from_dict(d) for d in marker.get("stages", [])]]


def _stage_dirs(stats: list[StageStats]) -> list[str]:
    """Reject folder of each stage, as the executor names them (``name#k`` for repeats)."""
    seen: Counter = Counter()
    out = []
    for s in stats:
        seen[s.stage] += 1
        out.append(s.stage if seen[s.stage] == 1 else f"{s.stage}#{seen[s.stage]}")
    return out


def _check_books(label: str, stats: list[StageStats], marker: dict[str, Any], is_map: bool,
                 rejects_expected: bool) -> list[Damage]:
    """The funnel of one shard: balance per stage, the chain between stages, rows on disk."""
    out = []
    for s in stats:
        if not s.balanced():
            out.append(Damage(label, f"stage {s.stage}: {s.docs_in} in != {s.kept} kept + "
                                     f"{s.rejected_total} rejected + {s.errors_total} errors"))
    for a, b in zip(stats, stats[1:]):
        if b.docs_in != a.kept:
            out.append(Damage(label, f"stage {b.stage} got {b.docs_in} documents, {a.stage} kept {a.kept}"))
    if not is_map or not stats:
        return out
    rows = sum(r.get("rows", 0) for r in marker.get("outputs", []))
    if rows != stats[-1].kept:
        out.append(Damage(label, f"output files hold {rows} rows, stage {stats[-1].stage} kept {stats[-1].kept}"))
    per_dir: Counter = Counter()
    for r in marker.get("rejects", []):
        per_dir[Path(r["path"]).parent.name] += r.get("rows", 0)
    doc_stages = [s for s in stats if s.stage != "read"]  # unreadable records are counted, not copied
    for s, d in zip(doc_stages, _stage_dirs(doc_stages)):
        want = s.rejected_total + s.errors_total
        if (d in per_dir or rejects_expected) and per_dir.get(d, 0) != want:
            out.append(Damage(label, f"reject files of stage {s.stage} hold {per_dir.get(d, 0)} rows, "
                                     f"its counters say {want}"))
    return out


def _unrecorded(directory: Path, recorded: set[str], root: Path) -> list[Damage]:
    if not directory.is_dir():
        return []
    return [Damage(_rel(p, root), "not recorded by any marker (left by an unfinished shard?)")
            for p in sorted(directory.rglob("*")) if p.is_file() and not p.name.startswith(".")
            and "_stats" not in p.relative_to(directory).parts and _rel(p, root) not in recorded]


def _segments(run_dir: Path, manifest: dict[str, Any] | None) -> list[str]:
    if manifest and manifest.get("segments"):
        return list(manifest["segments"])
    stages = run_dir / "stages"
    return sorted(f"stages/{d.name}" for d in stages.iterdir() if d.is_dir()) if stages.is_dir() else []


def verify_run(run_dir: Path) -> list[Damage]:
    """Every problem of a run directory (empty when it is whole); see the module docstring."""
    run_dir = Path(run_dir)
    problems: list[Damage] = []
    manifest = read_marker(run_dir / "manifest.json")
    if manifest is None:
        problems.append(Damage("manifest.json", "missing or unreadable (the run did not finish)"))
    shards = manifest.get("shards") if manifest else None
    rejects_expected = bool(manifest and manifest.get("config", {}).get("write_rejects"))
    segments = _segments(run_dir, manifest)
    if not segments:
        problems.append(Damage("stages", "no segment folders"))
    merged: list[StageStats] = []
    prev_kept: int | None = None
    for rel in segments:
        seg_dir = run_dir / rel
        if not seg_dir.is_dir():
            problems.append(Damage(rel, "segment folder missing"))
            prev_kept = None
            continue
        kind = "global" if (seg_dir / "_stats" / "global.json").exists() else "map"
        markers = segment_markers(seg_dir, kind, shards)
        problems.extend(segment_damage(seg_dir, kind, shards, run_dir))
        recorded: set[str] = set()
        seg_lists: list[list[StageStats]] = []
        for m in markers:
            marker = read_marker(m) if m.exists() else None
            if marker is None or "outputs" not in marker:
                continue
            recorded |= {r["path"] for r in recorded_files(marker)}
            for shard_stats in _shard_lists(marker):
                problems.extend(_check_books(_rel(m, run_dir), shard_stats, marker, kind == "map",
                                             rejects_expected))
                seg_lists.append(shard_stats)
        problems.extend(_unrecorded(seg_dir, recorded, run_dir))
        problems.extend(_unrecorded(run_dir / "rejects" / seg_dir.name, recorded, run_dir))
        seg_stats = merge_stage_lists(seg_lists)
        if seg_stats and prev_kept is not None and seg_stats[0].docs_in != prev_kept:
            problems.append(Damage(rel, f"takes {seg_stats[0].docs_in} documents, the segment before "
                                        f"kept {prev_kept}"))
        prev_kept = seg_stats[-1].kept if seg_stats else None
        merged.extend(seg_stats)
    if manifest is not None:
        problems.extend(_check_manifest(run_dir, manifest))
        problems.extend(_check_funnel(run_dir, merged))
    return list(dict.fromkeys(problems))  # a file both a marker and the manifest list, once


def _check_manifest(run_dir: Path, manifest: dict[str, Any]) -> list[Damage]:
    out = [d for rec in manifest.get("files", []) if (d := check_record(rec, run_dir)) is not None]
    rows = sum(r.get("rows", 0) for r in manifest.get("files", []))
    if manifest.get("rows") != rows:
        out.append(Damage("manifest.json", f"says {manifest.get('rows')} rows, its files list {rows}"))
    return out


def _check_funnel(run_dir: Path, merged: list[StageStats]) -> list[Damage]:
    funnel = read_marker(run_dir / "funnel.json")
    if funnel is None:
        return [Damage("funnel.json", "missing or unreadable")]
    have = [(s["docs_in"], s["kept"], sum(s["rejected"].values()), sum(s["errors"].values()))
            for s in funnel.get("stages", [])]
    want = [(s.docs_in, s.kept, s.rejected_total, s.errors_total) for s in merged]
    if have != want:
        return [Damage("funnel.json", "counts differ from the per-shard markers")]
    return []
