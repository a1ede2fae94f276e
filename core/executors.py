"""Executors: run a job's stages over input shards, locally (process pool) or on Ray.

The unit of work is a *shard* (one input file). Inside a worker a shard streams through the fused map
stages in Arrow batches of ``batch_rows`` documents, so memory is bounded by the batch, not the
shard. Each shard's output is written atomically and its stats file is the completion marker: a
rerun skips finished shards. Both executors call the same ``run_shard`` on the same stage objects,
so their outputs are byte-identical.
"""

from __future__ import annotations

import atexit
import json
import logging
import multiprocessing as mp
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from core.io import AtomicParquetWriter, read_json, write_json_atomic
from core.limits import ReadLimits
from core.markers import Damage, discard, file_record, marker_damage
from core.readers import RAW_COLUMNS, InputFile, read_batches
from core.schema import BASE_FIELDS
from core.stage import GlobalStage, RunContext, Stage, StageSpec, apply_stage, stage_ref
from core.stats import StageStats

log = logging.getLogger(__name__)

StageSpecs = list[StageSpec]


@dataclass(frozen=True)
class ShardTask:
    """Everything a worker needs to process one shard through one map segment."""

    index: int
    input_path: str
    input_format: str
    source: str
    text_field: str
    #: The file's name within its source in document ids (see ``InputFile.name``).
    input_name: str
    output_path: str
    stats_path: str
    rejects_path: str | None
    batch_rows: int
    #: True when the input is raw (the segment reports a ``read`` stage).
    reads_raw_input: bool
    #: Write kept rows to ``<dir>/<column>=<value>/<name>`` per value of this column instead.
    partition_by: str | None = None
    #: Folder the marker's file records are relative to (the run directory).
    root: str = "."
    #: The caller's id field in JSONL/Parquet input, and the reader's caps (``ReadLimits`` fields).
    id_field: str | None = "id"
    read_limits: dict[str, int] | None = None
    #: Bucket URL the run directory is published to (``core.mirror``): data files, then the marker.
    mirror: str | None = None

    def done(self) -> bool:
        return Path(self.stats_path).exists()


def build_stages(specs: StageSpecs) -> list[Stage]:
    """Instantiate map stages from (class, config) pairs; refuses a global stage by name."""
    stages = []
    for cls, cfg in specs:
        stage = cls(cfg)
        if not isinstance(stage, Stage):
            raise TypeError(f"{stage_ref(cls)} is not a map stage")
        stages.append(stage)
    return stages


def specs_key(specs: StageSpecs) -> str:
    """A stable text key of a segment's stage specs (caches of built stages per worker)."""
    return json.dumps([(stage_ref(cls), cfg) for cls, cfg in specs], sort_keys=True)


def output_schema(stages: Sequence[Stage], input_schema: pa.Schema | None = None) -> pa.Schema:
    """The schema a segment's output has even when no row survives: the input's columns (raw page
    columns removed once ``extract`` ran) followed by every stage's declared columns."""
    fields = list(input_schema) if input_schema is not None else list(BASE_FIELDS)
    if any(st.name == "extract" for st in stages):
        fields = [f for f in fields if f.name not in RAW_COLUMNS]
    for st in stages:
        fields.extend(f for f in st.output_fields if f.name not in {x.name for x in fields})
    return pa.schema(fields)


#: Hive's name for the partition of null values (readers turn it back into null).
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"


class _PartitionedWriter:
    """Kept rows to one file per value of ``column`` (hive layout), or to a single file."""

    def __init__(self, output_path: Path, column: str | None) -> None:
        self.path = output_path
        self.column = column
        self.writers: dict[str, AtomicParquetWriter] = {}

    def _writer(self, value: str) -> AtomicParquetWriter:
        if value not in self.writers:
            path = self.path if self.column is None else (
                self.path.parent / f"{self.column}={value}" / self.path.name)
            self.writers[value] = AtomicParquetWriter(path)
        return self.writers[value]

    def write(self, table: pa.Table) -> None:
        if self.column is None:
            self._writer("").write(table)
            return
        if self.column not in table.column_names:
            log.warning("partition column %r is missing; rows go to the default partition", self.column)
            self._writer(NULL_PARTITION).write(table)
            return
        values = pc.fill_null(table.column(self.column).cast(pa.string()), NULL_PARTITION)
        for value in pc.unique(values).to_pylist():
            self._writer(_safe_value(value)).write(table.filter(pc.equal(values, value)))

    def commit(self, fallback_schema: pa.Schema) -> list[Path]:
        """Move every file into place; return their paths."""
        if self.column is None:
            self._writer("").commit(fallback_schema=fallback_schema)
        else:
            for w in self.writers.values():
                w.commit(fallback_schema=fallback_schema)
        return [w.path for w in self.writers.values()]

    def abort(self) -> None:
        for w in self.writers.values():
            w.abort()


def _safe_value(value: str) -> str:
    if value == NULL_PARTITION:
        return value
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in value)[:64] or "_"


class _RejectSinks:
    """Rejected rows per stage, each with every column the stage saw plus the reason columns.

    Files are ``<rejects>/<stage>/<shard>.parquet`` (``<stage>#k`` for the k-th repeat of a stage
    name), created only for stages that rejected something in this shard. A stage's
    ``reject_drop_columns`` are left out.
    """

    def __init__(self, shard_path: Path, stages: Sequence[Stage]) -> None:
        seen: dict[str, int] = {}
        self.dirs: list[str] = []
        for st in stages:
            seen[st.name] = seen.get(st.name, 0) + 1
            self.dirs.append(st.name if seen[st.name] == 1 else f"{st.name}#{seen[st.name]}")
        self.drop = [list(st.reject_drop_columns) for st in stages]
        self.shard_path = shard_path
        self.writers: dict[int, AtomicParquetWriter] = {}

    def write(self, stage_index: int, table: pa.Table) -> None:
        drop = [c for c in self.drop[stage_index] if c in table.column_names]
        if drop:
            table = table.drop_columns(drop)
        if stage_index not in self.writers:
            path = self.shard_path.parent / self.dirs[stage_index] / self.shard_path.name
            self.writers[stage_index] = AtomicParquetWriter(path)
        self.writers[stage_index].write(table)

    def commit(self) -> list[Path]:
        for w in self.writers.values():
            w.commit()
        return [w.path for w in self.writers.values()]

    def abort(self) -> None:
        for w in self.writers.values():
            w.abort()


def run_shard(task: ShardTask, stages: Sequence[Stage]) -> list[dict[str, Any]]:
    """Stream one shard through ``stages``; write kept rows, rejects and stats; return the stats."""
    read_stats = StageStats("read")
    stats = [StageStats(st.name) for st in stages]
    rejects = _RejectSinks(Path(task.rejects_path), stages) if task.rejects_path else None
    out = _PartitionedWriter(Path(task.output_path), task.partition_by)
    input_schema: pa.Schema | None = None
    rejected_files: list[Path] = []
    try:
        limits = ReadLimits(**task.read_limits) if task.read_limits else None
        for batch in read_batches(task.input_path, task.input_format, task.source,  # type: ignore[arg-type]
                                  task.batch_rows, read_stats, task.text_field, task.input_name,
                                  task.id_field, limits):
            input_schema = input_schema or batch.schema
            for k, (st, st_stats) in enumerate(zip(stages, stats)):
                if batch.num_rows == 0:
                    break
                result = apply_stage(st, batch, st_stats)
                if result.rejected is not None and rejects is not None:
                    rejects.write(k, result.rejected)
                batch = result.kept
            if batch.num_rows:
                out.write(batch)
        output_files = out.commit(fallback_schema=output_schema(stages, input_schema))
        if rejects is not None:
            rejected_files = rejects.commit()
    except BaseException:
        out.abort()
        if rejects is not None:
            rejects.abort()
        raise
    all_stats = ([read_stats] if task.reads_raw_input else []) + stats
    root = Path(task.root)
    payload = {"shard": task.index, "input": task.input_path,
               "stages": [s.to_dict() for s in all_stats],
               "outputs": [file_record(p, root) for p in output_files],
               "rejects": [file_record(p, root) for p in sorted(rejected_files)]}
    write_json_atomic(payload, Path(task.stats_path))
    if task.mirror:
        from core.mirror import upload_marker

        upload_marker(Path(task.stats_path), root, task.mirror)
    return payload["stages"]


# ------------------------------------------------------------------ local backend

_WORKER_STAGES: dict[str, list[Stage]] = {}


def _local_run(args: tuple[str, StageSpecs, ShardTask]) -> list[dict[str, Any]]:
    key, specs, task = args
    if key not in _WORKER_STAGES:  # build (and set up) stages once per worker process
        _WORKER_STAGES[key] = build_stages(specs)
    return run_shard(task, _WORKER_STAGES[key])


class LocalContext(RunContext):
    """Process-pool execution on this machine (``workers == 1`` runs in-process)."""

    def __init__(self, workers: int, seed: int, scratch_dir: Path) -> None:
        self.workers = workers if workers > 0 else (os.cpu_count() or 1)
        self.seed = seed
        self.scratch_dir = scratch_dir

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str = "") -> list[Any]:
        items = list(items)
        if self.workers == 1 or len(items) <= 1:
            return [fn(it) for it in tqdm(items, desc=desc or None, disable=not desc, leave=False)]
        ctx = mp.get_context("fork")
        with ProcessPoolExecutor(max_workers=min(self.workers, len(items)), mp_context=ctx) as pool:
            return list(tqdm(pool.map(fn, items), total=len(items), desc=desc or None,
                             disable=not desc, leave=False))

    def run_map(self, specs: StageSpecs, tasks: list[ShardTask], desc: str) -> None:
        key = specs_key(specs)
        self.map(_local_run, [(key, specs, t) for t in tasks], desc=desc)


# ------------------------------------------------------------------ Ray backend

class _RayShardRunner:
    """Ray Data actor: builds the stages once, then processes one shard per call."""

    def __init__(self, specs: StageSpecs) -> None:
        self.stages = build_stages(specs)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        out = []
        for raw in batch["task"]:
            task = ShardTask(**json.loads(raw))
            out.append(json.dumps(run_shard(task, self.stages)))
        return {"stats": np.array(out, dtype=object)}


#: Ray retries when a worker process or node dies: task re-runs and actor restarts (an actor that
#: keeps dying, e.g. out of memory on one shard, ends the job). The shard call in flight on a dead
#: actor is retried without limit (-1): Ray spends a retry on every failed delivery while the actor
#: restarts, so a bound of a few is used up within seconds of a node dying. Shard outputs are
#: atomic and deterministic, so a re-run writes the same bytes.
RAY_MAX_RETRIES = 3


def _ray_call(fn: Callable[[Any], Any], item: Any) -> Any:
    return fn(item)


class RayContext(RunContext):
    """Ray execution: map segments stream shards through Ray Data actors; ``map`` uses Ray tasks."""

    def __init__(self, workers: int, seed: int, scratch_dir: Path, address: str | None = None,
                 num_cpus: int | None = None) -> None:
        import ray

        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS")
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(address="local", num_cpus=num_cpus or max(workers, 1), include_dashboard=False,
                         log_to_driver=False)
            # A Ray this process started goes down with it on a normal exit or SIGTERM (the CLI turns
            # SIGTERM into an exit); after SIGKILL its workers notice the lost driver on their own.
            atexit.register(ray.shutdown)
        cluster_cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = workers if workers > 0 else cluster_cpus
        self.seed = seed
        self.scratch_dir = scratch_dir

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str = "") -> list[Any]:
        import ray

        remote = ray.remote(num_cpus=1, max_retries=RAY_MAX_RETRIES)(_ray_call)
        refs = [remote.remote(fn, it) for it in items]
        results: list[Any] = []
        for ref in tqdm(refs, desc=desc or None, disable=not desc, leave=False):
            results.append(ray.get(ref))
        return results

    def run_map(self, specs: StageSpecs, tasks: list[ShardTask], desc: str) -> None:
        import ray.data

        rows = [{"task": json.dumps(asdict(t))} for t in tasks]
        ds = ray.data.from_items(rows, override_num_blocks=max(1, len(rows)))
        ds = ds.map_batches(_RayShardRunner, fn_constructor_kwargs={"specs": specs}, batch_size=1,
                            concurrency=max(1, min(self.workers, len(rows))), num_cpus=1,
                            max_restarts=RAY_MAX_RETRIES, max_task_retries=-1)
        for _ in tqdm(ds.iter_rows(), total=len(rows), desc=desc or None, disable=not desc, leave=False):
            pass


def make_context(kind: str, workers: int, seed: int, scratch_dir: Path,
                 ray_address: str | None = None, ray_cpus: int | None = None) -> LocalContext | RayContext:
    if kind == "ray":
        return RayContext(workers, seed, scratch_dir, ray_address, ray_cpus)
    if kind == "local":
        return LocalContext(workers, seed, scratch_dir)
    raise ValueError(f"unknown executor {kind!r} (use 'local' or 'ray')")


# ------------------------------------------------------------------ segments

def load_shard_stats(stats_dir: Path) -> list[list[StageStats]]:
    out = []
    for p in sorted(stats_dir.glob("part-*.json")):
        out.append([StageStats.from_dict(d) for d in read_json(p)["stages"]])
    return out


def run_map_segment(ctx: LocalContext | RayContext, specs: StageSpecs,
                    inputs: list[InputFile], seg_dir: Path,
                    rejects_dir: Path | None, batch_rows: int, reads_raw_input: bool,
                    desc: str, partition_by: str | None = None,
                    root: Path | None = None, mirror: str | None = None,
                    sync: Callable[[], None] | None = None) -> list[list[StageStats]]:
    """Run fused map stages over every input shard, skipping finished ones whose recorded files
    verify and recomputing damaged ones; return per-shard stats.

    ``root`` (default: the run directory, two levels above ``seg_dir``) is the folder markers
    record file paths against. Temp files of a killed run are removed by the caller, which holds
    the run directory's lock. With ``mirror`` (a bucket URL) each finished shard is published
    there; ``sync`` runs after the shards and before their markers are read (it brings shards that
    other machines published into the run directory).
    """
    root = Path(root) if root is not None else seg_dir.parent.parent
    stats_dir = seg_dir / "_stats"
    tasks = []
    for i, (path, fmt, source, text_field, input_name, id_field, limits) in enumerate(inputs):
        name = f"part-{i:05d}"
        tasks.append(ShardTask(
            index=i, input_path=str(path), input_format=fmt, source=source, text_field=text_field,
            input_name=input_name, id_field=id_field, read_limits=limits.model_dump(),
            output_path=str(seg_dir / f"{name}.parquet"), stats_path=str(stats_dir / f"{name}.json"),
            rejects_path=str(rejects_dir / f"{name}.parquet") if rejects_dir else None,
            batch_rows=batch_rows, reads_raw_input=reads_raw_input, partition_by=partition_by,
            root=str(root), mirror=mirror))
    todo = []
    for t in tasks:
        if t.done() and not _damaged(Path(t.stats_path), root, f"{seg_dir.name} shard {t.index}"):
            continue
        todo.append(t)
    if len(todo) < len(tasks):
        log.info("%s: %d of %d shards already done, resuming", seg_dir.name, len(tasks) - len(todo), len(tasks))
    if todo:
        ctx.run_map(specs, todo, desc)
    if sync is not None:
        sync()
    return load_shard_stats(stats_dir)


def _damaged(marker: Path, root: Path, what: str) -> bool:
    """Verify a marker's files; when any is damaged, log it and discard the marker and its files."""
    damage: list[Damage] = marker_damage(marker, root)
    for d in damage:
        log.warning("%s: %s; recomputing", what, d)
    if damage:
        discard(marker, root)
    return bool(damage)


def _written_files(directory: Path | None) -> list[Path]:
    """Finished files under ``directory`` (temp files and the ``_stats`` folder excluded)."""
    if directory is None or not directory.exists():
        return []
    return sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and "_stats" not in p.relative_to(directory).parts)


def run_global_segment(ctx: RunContext, stage: GlobalStage, inputs: list[Path], seg_dir: Path,
                       rejects_dir: Path | None, root: Path | None = None,
                       mirror: str | None = None) -> list[list[StageStats]]:
    """Run a global stage once; its marker (stats plus a record of every file it wrote) marks it
    complete. A marker whose files do not verify is discarded and the stage runs again. With
    ``mirror`` (a bucket URL) its files, then its marker, are published there."""
    root = Path(root) if root is not None else seg_dir.parent.parent
    marker = seg_dir / "_stats" / "global.json"
    if marker.exists() and not _damaged(marker, root, seg_dir.name):
        log.info("%s: already done", seg_dir.name)
    else:
        for d in (seg_dir, rejects_dir):  # partial outputs of an interrupted or damaged run
            if d is not None and d.exists():
                shutil.rmtree(d)
        stats = stage.run(inputs, seg_dir, rejects_dir, ctx)
        write_json_atomic({"stages_per_shard": [s.to_dict() for s in stats],
                           "outputs": [file_record(p, root) for p in _written_files(seg_dir)],
                           "rejects": [file_record(p, root) for p in _written_files(rejects_dir)]}, marker)
        if mirror:
            from core.mirror import upload_marker

            upload_marker(marker, root, mirror)
    return [[StageStats.from_dict(d)] for d in read_json(marker)["stages_per_shard"]]


def segment_files(seg_dir: Path, root: Path) -> list[dict[str, Any]]:
    """The output file records of a finished segment (rejects excluded), in path order."""
    stats_dir = seg_dir / "_stats"
    markers = [stats_dir / "global.json"] if (stats_dir / "global.json").exists() else sorted(
        stats_dir.glob("part-*.json"))
    recs = [r for m in markers for r in read_json(m).get("outputs", [])]
    return sorted(recs, key=lambda r: r["path"])

