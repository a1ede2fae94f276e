"""Run a curation job: plan segments, execute them, write the funnel and the manifest."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core import fs, mirror
from core.executors import make_context, run_global_segment, run_map_segment, segment_files
from core.io import parquet_shards, read_json, stamp, write_json_atomic
from core.readers import InputFile
from core.runlock import remove_stale_temp_files, run_lock
from core.stage import GlobalStage
from core.stats import StageStats, funnel, merge_stage_lists
from core.verify import segment_damage
from pipeline.job import JobConfig, JobError
from pipeline.registry import build_stage, resolve_specs

log = logging.getLogger(__name__)


@dataclass
class Segment:
    """Consecutive map stages fused into one pass, or one global stage."""

    kind: str  # "map" | "global"
    specs: list[tuple[str, dict[str, Any]]]

    @property
    def label(self) -> str:
        return "+".join(name for name, _ in self.specs) or "read"


def plan_segments(job: JobConfig) -> list[Segment]:
    segments: list[Segment] = []
    for spec in job.stages:
        stage = build_stage(spec.name, spec.options())
        if isinstance(stage, GlobalStage):
            segments.append(Segment("global", [(spec.name, spec.options())]))
        elif segments and segments[-1].kind == "map":
            segments[-1].specs.append((spec.name, spec.options()))
        else:
            segments.append(Segment("map", [(spec.name, spec.options())]))
    if not segments or segments[0].kind == "global":
        segments.insert(0, Segment("map", []))  # raw inputs must become Parquet first
    return segments


@dataclass
class RunResult:
    run_dir: Path
    output_dir: Path
    funnel: dict[str, Any]
    seconds: float


def code_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        pkg = version("axk1-data")
    except PackageNotFoundError:
        pkg = "unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{pkg}+{sha}" if sha else pkg


def run_job(job: JobConfig, executor: str | None = None) -> RunResult:
    """Execute every segment of ``job`` (resuming finished shards whose outputs verify) and write
    funnel + manifest, holding the run directory's lock throughout.

    With ``output_dir`` on a bucket the run is built in a local staging folder and published as it
    goes (``core.mirror``); the lock is on the staging folder, so two drivers on one machine are
    refused, while two machines writing one bucket run directory are not detected.
    """
    run_dir = job.run_dir
    check_run_dir(run_dir)
    with run_lock(run_dir):
        remove_stale_temp_files(run_dir)
        try:
            return _run_locked(job, executor)
        except fs.StorageError as exc:
            raise JobError(str(exc)) from None


def check_run_dir(run_dir: Path) -> None:
    """Refuse an output directory that is, or lies below, something other than a folder."""
    for p in (run_dir, *run_dir.parents):
        if p.exists() and not p.is_dir():
            what = "output_dir" if p == run_dir else f"output_dir {run_dir}: its parent"
            raise JobError(f"{what} {p} is a file, not a directory")
        if p.exists():
            break


def _run_locked(job: JobConfig, executor: str | None) -> RunResult:
    t0 = time.perf_counter()
    run_dir = job.run_dir
    url = job.output_url
    (run_dir / "job.yaml").write_text(
        yaml.safe_dump(job.model_dump(mode="json"), sort_keys=False, allow_unicode=True), encoding="utf-8")
    if url is not None:
        log.info("run directory %s, staged in %s", url, run_dir)
        mirror.upload_file(run_dir / "job.yaml", run_dir, url)  # fails early on a missing bucket or no access
    kind = executor or job.executor
    ctx = make_context(kind, job.workers, job.seed, run_dir / "scratch", job.ray.address, job.ray.num_cpus)
    inputs = job.expand_inputs(ctx)
    n_shards = len(inputs)
    segments = plan_segments(job)
    per_segment_stats: list[list[StageStats]] = []
    seg_dir = run_dir
    # Each segment folder is named by a stamp of everything its bytes depend on (stage configs,
    # seed, batch size, partitioning, the inputs or the upstream stamp): a changed job never resumes
    # from shards another configuration wrote.
    upstream = stamp("inputs", [_file_identity(f.path, run_dir) + [f.format, f.source, f.text_field, f.name,
                                                                   f.id_field, f.limits.model_dump()]
                                for f in inputs], length=10)
    seg_names = []
    for k, seg in enumerate(segments):
        last = k == len(segments) - 1
        upstream = stamp(seg.kind, seg.specs, job.seed, job.batch_rows,
                            job.partition_by if last else None, upstream, length=10)
        seg_names.append(f"{k:02d}-{seg.label}-{upstream}")
    _remove_stale(run_dir, seg_names)
    if url is not None:
        mirror.pull(run_dir, url, seg_names)
    _invalidate_after_damage(run_dir, segments, seg_names, len(inputs))
    if url is not None:  # segments recomputed from new upstream bytes leave the bucket too
        mirror.remove_segments(url, [n for n in seg_names if not (run_dir / "stages" / n).exists()])
    for k, seg in enumerate(segments):
        seg_dir = run_dir / "stages" / seg_names[k]
        rejects_dir = run_dir / "rejects" / seg_dir.name if job.write_rejects else None
        log.info("segment %d/%d: %s over %d shards", k + 1, len(segments), seg.label, len(inputs))
        if seg.kind == "map":
            last = k == len(segments) - 1
            shard_stats = run_map_segment(ctx, resolve_specs(seg.specs), inputs, seg_dir, rejects_dir, job.batch_rows,
                                          reads_raw_input=(k == 0), desc=f"{seg.label}",
                                          partition_by=job.partition_by if last else None, root=run_dir,
                                          mirror=url, sync=_puller(run_dir, url, seg_dir.name))
        else:
            name, cfg = seg.specs[0]
            stage = build_stage(name, cfg)
            assert isinstance(stage, GlobalStage)
            shard_stats = run_global_segment(ctx, stage, [Path(f.path) for f in inputs], seg_dir, rejects_dir,
                                             root=run_dir, mirror=url)
        per_segment_stats.extend(merge_stage_lists(shard_stats))
        inputs = [InputFile(p, "parquet", "", "text", p.name) for p in parquet_shards(seg_dir)]
    seen: dict[str, int] = {}
    for st in per_segment_stats:  # the same stage twice (e.g. URL then content dedup) stays apart
        seen[st.stage] = seen.get(st.stage, 0) + 1
        if seen[st.stage] > 1:
            st.stage = f"{st.stage}#{seen[st.stage]}"
    result_funnel = funnel(per_segment_stats)
    write_json_atomic(result_funnel, run_dir / "funnel.json")
    write_manifest(job, run_dir, seg_dir, result_funnel, seg_names, shards=n_shards)
    if job.report:
        from pipeline.report import build_report

        build_report(run_dir)
    if url is not None:
        mirror.publish_tree(run_dir, url, ["funnel.json", "manifest.json", "report"])
        mirror.prune(run_dir, url, ["stages", "rejects"])
    seconds = time.perf_counter() - t0
    log.info("job %s: %s -> %s documents in %.1f s; output %s", job.name, result_funnel["docs_in"],
             result_funnel["docs_out"], seconds, seg_dir)
    return RunResult(run_dir, seg_dir, result_funnel, seconds)


def _puller(run_dir: Path, url: str | None, segment: str) -> Any:
    """After a map segment on a bucket: bring shards other machines published into staging."""
    if url is None:
        return None
    return lambda: mirror.pull(run_dir, url, [segment], trust_staged=True)


def _file_identity(path: Path | str, run_dir: Path) -> list[Any]:
    """What an input's contents are taken to be: path, size and mtime (an object: URL, size and
    its ETag, or mtime where the store has none); files the run generated itself (the embedded
    sample) are deterministic, so their place in the run and size suffice."""
    if isinstance(path, str) and fs.is_remote(path):
        return fs.identity(path)
    path = Path(path)
    st = path.stat()
    if path.resolve().is_relative_to(run_dir.resolve()):
        return [str(path.resolve().relative_to(run_dir.resolve())), st.st_size]
    return [str(path), st.st_size, st.st_mtime_ns]


def _invalidate_after_damage(run_dir: Path, segments: list[Segment], names: list[str], shards: int) -> None:
    """Later segments are stamped by earlier ones: once a segment has an unfinished or damaged shard,
    it runs again and every later segment is removed so that it recomputes from the new bytes."""
    for k, (seg, name) in enumerate(zip(segments, names)):
        damage = segment_damage(run_dir / "stages" / name, seg.kind, shards, run_dir)
        if not damage:
            continue
        later = [n for n in names[k + 1:] if (run_dir / "stages" / n).exists()]
        if later:
            log.warning("segment %s has %d unfinished or damaged files (first: %s); recomputing it and "
                        "the %d segments after it", name, len(damage), damage[0], len(later))
        for n in later:
            for d in (run_dir / "stages" / n, run_dir / "rejects" / n, run_dir / "scratch" / n):
                if d.exists():
                    shutil.rmtree(d)
        return


def _remove_stale(run_dir: Path, keep: list[str]) -> None:
    """Delete segment outputs (and dedup scratch) of earlier configurations of this run directory."""
    for parent in (run_dir / "stages", run_dir / "rejects", run_dir / "scratch"):
        if not parent.exists():
            continue
        for d in parent.iterdir():
            if d.is_dir() and d.name not in keep:
                log.info("removing %s: written by an earlier configuration of this job", d)
                shutil.rmtree(d)


def write_manifest(job: JobConfig, run_dir: Path, output_dir: Path, result_funnel: dict[str, Any],
                   segments: list[str] | None = None, shards: int | None = None) -> None:
    """The manifest lists the final segment's files from its verified markers."""
    files = [{"path": r["path"], "rows": r["rows"], "bytes": r["bytes"]}
             for r in segment_files(output_dir, run_dir) if r["path"].endswith(".parquet")]
    plan_file = output_dir / "_mix_plan.json"
    plan = read_json(plan_file) if plan_file.exists() else None
    write_json_atomic({
        "job": job.name,
        "mix": plan,
        "estimated_tokens": plan["achieved_tokens"] if plan else None,
        "code_version": code_version(),
        "config": job.model_dump(mode="json"),
        "output_dir": str(output_dir.relative_to(run_dir)),
        "segments": [f"stages/{name}" for name in segments or []],
        "shards": shards,
        "files": files,
        "rows": sum(f["rows"] for f in files),
        "bytes": sum(f["bytes"] for f in files),
        "funnel": "funnel.json",
    }, run_dir / "manifest.json")
