"""``axk1 stage NAME --input FILE_OR_FOLDER``: one stage, map or global, outside a job file.

Inputs are one file or every readable file below a folder (WARC/ARC/JSONL/Parquet, by name). A map
stage runs over each file; a global stage (dedup, mix) first reads the files into Parquet shards,
then runs once over all of them. Kept documents and rejects go to a ``.parquet`` file (shards
concatenated in order) or, for any other path, to a folder of ``part-*.parquet`` shards.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from core.executors import LocalContext, run_global_segment, run_map_segment
from core.io import (
    AtomicParquetWriter,
    conform_to,
    iter_parquet_batches,
    parquet_shards,
    write_parquet_atomic,
)
from core.readers import InputFile, detect_format
from core.stage import GlobalStage
from core.stats import StageStats, funnel, merge_stage_lists
from pipeline.job import JobError, _short
from pipeline.registry import build_stage, resolve_specs

log = logging.getLogger(__name__)


def expand_input(path: Path, fmt: str, source: str) -> list[InputFile]:
    """One input file, or every file below a folder whose format its name tells (sorted)."""
    if not path.exists():
        raise JobError(f"--input: {path} does not exist")
    if path.is_file():
        return [InputFile(path, fmt, source, "text", path.name)]
    files, skipped = [], 0
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        rel = p.relative_to(path)
        if any(part.startswith((".", "_")) for part in rel.parts):
            continue  # hidden files, temp files and _stats folders
        if fmt == "auto":
            try:
                detect_format(p)
            except ValueError:
                skipped += 1
                continue
        files.append(InputFile(p, fmt, source, "text", rel.as_posix()))
    if skipped:
        log.info("--input: skipped %d files of unknown format under %s", skipped, path)
    if not files:
        raise JobError(f"--input: no WARC/ARC/JSONL/Parquet file under {path}")
    return files


def collect(shards: list[Path], dest: Path) -> int:
    """Move shards into folder ``dest``, or concatenate them into ``dest`` if it ends in .parquet."""
    if dest.suffix != ".parquet":
        dest.mkdir(parents=True, exist_ok=True)
        for i, p in enumerate(shards):
            p.replace(dest / f"part-{i:05d}.parquet")
        return len(shards)
    if len(shards) == 1:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shards[0].replace(dest)
        return 1
    schema = pa.unify_schemas([pq.read_schema(p) for p in shards], promote_options="permissive")
    with AtomicParquetWriter(dest, schema) as out:
        for p in shards:
            for batch in iter_parquet_batches(p, 10_000):
                out.write(conform_to(batch, schema))
        out.commit()
    return len(shards)


def _empty_rejects(dest: Path) -> None:
    table = pa.table({"id": pa.array([], pa.string()), "reject_stage": pa.array([], pa.string()),
                      "reject_reason": pa.array([], pa.string())})
    if dest.suffix == ".parquet":
        write_parquet_atomic(table, dest)
    else:
        dest.mkdir(parents=True, exist_ok=True)


def run_stage(name: str, options: dict[str, Any], input_path: Path, output: Path, rejects: Path | None,
              fmt: str = "auto", source: str = "input", batch_rows: int = 1000, workers: int = 1,
              seed: int = 0) -> dict[str, Any]:
    """Run stage ``name`` over a file or folder; write kept documents (and rejects); return the funnel."""
    try:
        stage = build_stage(name, options)
    except KeyError as exc:
        raise JobError(str(exc.args[0])) from None
    except ValidationError as exc:
        raise JobError(f"stage {name}: {_short(exc)}") from None
    files = expand_input(input_path, fmt, source)
    work = output.parent / f".{output.name}.work"
    shutil.rmtree(work, ignore_errors=True)  # one-off run: never resume someone else's shard
    ctx = LocalContext(workers, seed, work / "scratch")
    rejects_root = work / "rejects" if rejects else None
    stats: list[StageStats]
    try:
        if isinstance(stage, GlobalStage):
            read_stats = run_map_segment(ctx, [], files, work / "read", None, batch_rows,
                                         reads_raw_input=True, desc="read")
            shard_stats = run_global_segment(ctx, stage, parquet_shards(work / "read"), work / "out", rejects_root)
            stats = merge_stage_lists(read_stats) + merge_stage_lists(shard_stats)
            rejected = parquet_shards(rejects_root) if rejects_root else []
        else:
            shard_stats = run_map_segment(ctx, resolve_specs([(name, options)]), files, work / "out",
                                          rejects_root, batch_rows, reads_raw_input=True, desc=name)
            stats = merge_stage_lists(shard_stats)
            rejected = parquet_shards(rejects_root / name) if rejects_root else []
        collect([p for p in parquet_shards(work / "out") if "_stats" not in p.parts], output)
        if rejects is not None:
            if rejected:
                collect(rejected, rejects)
            else:  # nothing rejected: an empty file (or folder) with the reason columns
                _empty_rejects(rejects)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return funnel(stats)
