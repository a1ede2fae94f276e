"""The stage interface: a stage maps an Arrow table to an Arrow table.

A *map stage* (``Stage``) sees one batch at a time and may add columns (annotate) and/or mark
documents for rejection by filling ``reject_reason``. The framework splits kept from rejected rows,
counts reasons, isolates rows that make the stage raise, and times it; stage code stays small.

A *global stage* (``GlobalStage``) needs every shard at once (deduplication, mixing); it runs as a
barrier between map segments and receives a ``RunContext`` that fans work out locally or on Ray.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from core.config import StrictConfig
from core.schema import REJECT_COLUMN, REJECT_STAGE_COLUMN
from core.stats import StageStats

log = logging.getLogger(__name__)


class StageConfig(StrictConfig):
    """Base for stage configs: unknown keys are errors, not silently ignored."""


def validate_config(model: type[StageConfig], config: StageConfig | dict[str, Any] | None) -> StageConfig:
    """A stage's config from a mapping (validated by the stage's model) or an already built model."""
    return model(**(config or {})) if config is None or isinstance(config, dict) else config


class Stage(ABC):
    """A per-batch map stage. Subclasses set ``name``, ``Config`` and ``output_fields``.

    Stages are pickled to workers with their config only; heavy resources (models, compiled
    tables) are built in ``setup()``, which runs once per worker before the first batch.
    """

    name: ClassVar[str]
    Config: ClassVar[type[StageConfig]] = StageConfig
    #: Columns this stage adds to the document table.
    output_fields: ClassVar[list[pa.Field]] = []
    #: Columns left out of this stage's reject sink (bulky inputs such as page bytes).
    reject_drop_columns: ClassVar[list[str]] = []

    def __init__(self, config: StageConfig | dict[str, Any] | None = None) -> None:
        self.config = validate_config(self.Config, config)
        self._ready = False

    def __getstate__(self) -> dict[str, Any]:
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Load models or build tables; called once per worker before the first batch."""

    def ensure_setup(self) -> None:
        if not self._ready:
            self.setup()
            self._ready = True

    @abstractmethod
    def process(self, batch: pa.Table, stats: StageStats) -> pa.Table:
        """Return ``batch`` with this stage's columns added.

        A filtering stage also sets ``reject_reason`` (string; null keeps the row). Use
        ``stats.add(key, n)`` for stage-specific counters. Raising is allowed: the framework then
        retries row by row and counts the rows that still raise as errors.
        """


@dataclass
class BatchResult:
    kept: pa.Table
    rejected: pa.Table | None


def _split(stage_name: str, out: pa.Table, stats: StageStats) -> BatchResult:
    if REJECT_COLUMN not in out.column_names:
        stats.kept += out.num_rows
        return BatchResult(out, None)
    reasons = out.column(REJECT_COLUMN)
    keep_mask = pc.is_null(reasons)
    kept = out.filter(keep_mask).drop_columns([REJECT_COLUMN])
    rejected = out.filter(pc.invert(keep_mask))
    stats.kept += kept.num_rows
    if rejected.num_rows:
        for reason, n in zip(*_value_counts(rejected.column(REJECT_COLUMN))):
            stats.rejected[reason] += n
        rejected = rejected.append_column(
            REJECT_STAGE_COLUMN, pa.array([stage_name] * rejected.num_rows, pa.string())
        )
    return BatchResult(kept, rejected if rejected.num_rows else None)


def _value_counts(arr: pa.ChunkedArray) -> tuple[list[str], list[int]]:
    vc = pc.value_counts(arr)
    return vc.field("values").to_pylist(), vc.field("counts").to_pylist()


def text_bytes(batch: pa.Table) -> int:
    """UTF-8 bytes of the text column (0 when the batch has no text yet)."""
    if "text" not in batch.column_names or batch.num_rows == 0:
        return 0
    return int(pc.sum(pc.binary_length(batch.column("text"))).as_py() or 0)


def apply_stage(stage: Stage, batch: pa.Table, stats: StageStats) -> BatchResult:
    """Run one stage over one batch with accounting and per-row error isolation."""
    stage.ensure_setup()
    stale = [f.name for f in stage.output_fields if f.name in batch.column_names]
    if stale:  # re-curating an earlier output: the stage recomputes its own columns
        batch = batch.drop_columns(stale)
    t0 = time.perf_counter()
    stats.docs_in += batch.num_rows
    stats.bytes_in += text_bytes(batch)
    try:
        out = stage.process(batch, stats)
        result = _split(stage.name, out, stats)
    except Exception as exc:  # isolate the offending rows instead of losing the batch
        log.warning("stage %s failed on a batch of %d (%s); retrying row by row",
                    stage.name, batch.num_rows, type(exc).__name__)
        result = _apply_rowwise(stage, batch, stats)
    stats.bytes_out += text_bytes(result.kept)
    stats.seconds += time.perf_counter() - t0
    return result


def _apply_rowwise(stage: Stage, batch: pa.Table, stats: StageStats) -> BatchResult:
    kept_parts: list[pa.Table] = []
    rejected_parts: list[pa.Table] = []
    for i in range(batch.num_rows):
        row = batch.slice(i, 1)
        try:
            res = _split(stage.name, stage.process(row, stats), stats)
        except Exception as exc:
            kind = type(exc).__name__
            stats.errors[kind] += 1
            bad = _empty_like_output(stage, row, rows=1)
            bad = bad.append_column(REJECT_COLUMN, pa.array([f"error:{kind}"], pa.string()))
            bad = bad.append_column(REJECT_STAGE_COLUMN, pa.array([stage.name], pa.string()))
            rejected_parts.append(bad)
            continue
        if res.kept.num_rows:
            kept_parts.append(res.kept)
        if res.rejected is not None:
            rejected_parts.append(res.rejected)
    kept = (pa.concat_tables(kept_parts, promote_options="permissive") if kept_parts
            else _empty_like_output(stage, batch))
    rejected = pa.concat_tables(rejected_parts, promote_options="permissive") if rejected_parts else None
    return BatchResult(kept, rejected)


def _empty_like_output(stage: Stage, batch: pa.Table, rows: int = 0) -> pa.Table:
    """The first ``rows`` rows of ``batch`` with the stage's output columns added as nulls."""
    out = batch.slice(0, rows)
    for f in stage.output_fields:
        if f.name not in out.column_names:
            out = out.append_column(f, pa.nulls(rows, f.type))
    return out


class RunContext(ABC):
    """What a global stage may use from the executor: parallel map, scratch space, seed."""

    workers: int
    seed: int
    scratch_dir: Path

    @abstractmethod
    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], desc: str = "") -> list[Any]:
        """Apply ``fn`` to every item in parallel (local processes or Ray tasks); keep order."""


class GlobalStage(ABC):
    """A stage that needs all shards at once; runs as a barrier between map segments.

    ``run`` reads the input shards, writes its output shards (one per input shard, same file
    names, so later segments keep the shard layout) into ``output_dir`` and returns stats per
    shard. It must be deterministic for a given input and seed.
    """

    name: ClassVar[str]
    Config: ClassVar[type[StageConfig]] = StageConfig
    output_fields: ClassVar[list[pa.Field]] = []

    def __init__(self, config: StageConfig | dict[str, Any] | None = None) -> None:
        self.config = validate_config(self.Config, config)

    @abstractmethod
    def run(self, inputs: list[Path], output_dir: Path, rejects_dir: Path | None,
            ctx: RunContext) -> list[StageStats]:
        """Process every shard in ``inputs``; write outputs and (optionally) rejects."""


StageClass = type[Stage] | type[GlobalStage]
#: A stage class and its config: what executors build stages from (in workers too).
StageSpec = tuple[StageClass, dict[str, Any]]


def stage_ref(cls: StageClass) -> str:
    """``module:QualName`` of a stage class: a stable key for caches and logs."""
    return f"{cls.__module__}:{cls.__qualname__}"
