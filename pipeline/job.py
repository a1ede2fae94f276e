"""Job files: YAML validated with pydantic into a ``JobConfig`` with clear error messages."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core import fs
from core.cc_index import CCIndexSelect
from core.config import JobError
from core.limits import ReadLimits
from core.readers import InputFile, InputFormat
from core.stage import RunContext

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InputSpec(_Strict):
    """One input: files/globs of a format, or the embedded demo sample."""

    paths: list[str] = Field(default_factory=list, description="files or glob patterns")
    format: InputFormat = "auto"
    source: str | None = Field(None, description="source name for these documents (default: input kind)")
    text_field: str = "text"
    id_field: str | None = Field(
        "id", description="JSONL/Parquet field with the caller's document id, kept as the id (null: generate ids)")
    embedded: Literal["demo"] | None = Field(None, description="use the bundled generated sample")
    demo_pages: int | None = Field(None, gt=0, description="pages in the embedded sample (all shards)")
    demo_shards: int = Field(4, gt=0, le=256, description="WARC files the embedded sample is split into")
    cc_index: CCIndexSelect | None = Field(None, description="select records from Common Crawl's URL index "
                                           "and fetch them by byte range (one shard per WARC file)")

    @model_validator(mode="after")
    def _one_kind(self) -> InputSpec:
        if sum((bool(self.paths), bool(self.embedded), self.cc_index is not None)) != 1:
            raise ValueError("give exactly one of 'paths', 'embedded' or 'cc_index'")
        return self


class StageSpec(_Strict):
    """A stage by registered name plus its config keys (validated by the stage's own model)."""

    model_config = ConfigDict(extra="allow")
    name: str

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class RaySpec(_Strict):
    address: str | None = Field(None, description="Ray cluster address; default $RAY_ADDRESS or a local Ray")
    num_cpus: int | None = Field(None, gt=0, description="CPUs for a local Ray (default: workers)")


class JobConfig(_Strict):
    name: str = Field(..., min_length=1)
    output_dir: str = Field(..., description="run directory (relative paths are relative to the working directory)")
    inputs: list[InputSpec] = Field(..., min_length=1)
    stages: list[StageSpec] = Field(default_factory=list)
    executor: Literal["local", "ray"] = "local"
    workers: int = Field(2, ge=0, description="parallel workers; 0 means every core")
    batch_rows: int = Field(1000, gt=0, description="documents per Arrow batch inside a worker")
    write_rejects: bool = True
    partition_by: str | None = Field(None, description="partition the final output by this column (e.g. lang)")
    report: bool = Field(True, description="write the statistics report (report/index.html) at the end")
    seed: int = 0
    ray: RaySpec = Field(default_factory=RaySpec)
    reader: ReadLimits = Field(default_factory=ReadLimits,
                               description="caps on one record's body and one JSONL line while reading inputs")
    # Downstream steps of an end-to-end kickoff (validated by their own models, see pipeline/kickoff.py).
    tokenizer: dict[str, Any] | None = Field(None, description="train the tokenizer on the final corpus")
    tokenizer_eval: dict[str, Any] | None = Field(None, description="options of the tokenizer evaluation")
    pack: dict[str, Any] | None = Field(None, description="pack the corpus into token shards (needs tokenizer)")
    pretrain: dict[str, Any] | None = Field(None, description="pretrain on the shards (needs pack)")
    torchrun: dict[str, Any] | None = Field(None, description="launch pretraining with torchrun on many GPUs")

    #: Directory of the job file, for resolving relative paths (not part of the YAML).
    base_dir: Path = Field(default=PACKAGE_ROOT, exclude=True)

    @model_validator(mode="after")
    def _stages_exist(self) -> JobConfig:
        from pipeline.registry import registry

        reg = registry()
        for i, spec in enumerate(self.stages):
            if spec.name not in reg:
                raise ValueError(f"stages[{i}]: unknown stage {spec.name!r}; known: {', '.join(sorted(reg))}")
            try:
                reg[spec.name].Config(**spec.options())
            except ValidationError as exc:
                raise ValueError(f"stages[{i}] ({spec.name}): {_short(exc)}") from None
        return self

    @model_validator(mode="after")
    def _downstream_order(self) -> JobConfig:
        if self.pack is not None and self.tokenizer is None:
            raise ValueError("pack needs a tokenizer section (the shards are tokenized with it)")
        if self.pretrain is not None and self.pack is None:
            raise ValueError("pretrain needs a pack section (it trains on the packed shards)")
        return self

    @model_validator(mode="after")
    def _partition_on_map_output(self) -> JobConfig:
        from core.stage import GlobalStage
        from pipeline.registry import registry

        if self.partition_by and self.stages and issubclass(registry()[self.stages[-1].name], GlobalStage):
            raise ValueError(f"partition_by applies to the output of per-document stages, but the last stage "
                             f"({self.stages[-1].name}) needs the whole corpus; move partitioning before it "
                             f"or drop partition_by (mix partitions its corpus by source itself)")
        return self

    @property
    def is_kickoff(self) -> bool:
        return self.tokenizer is not None

    @model_validator(mode="after")
    def _known_schemes(self) -> JobConfig:
        for where, path in [("output_dir", self.output_dir),
                            *((f"inputs[{i}].paths", p) for i, s in enumerate(self.inputs) for p in s.paths)]:
            if fs.scheme(path) and not fs.is_remote(path):
                raise ValueError(f"{where}: {path}: unsupported scheme {fs.scheme(path)}:// "
                                 f"(use a local path, s3://, gs:// or https://)")
        if fs.scheme(self.output_dir) in ("http", "https"):
            raise ValueError(f"output_dir: {self.output_dir}: https:// is read-only; write to s3:// or gs://")
        return self

    def resolve(self, path: str | Path) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def output_url(self) -> str | None:
        """The bucket URL of the run directory, or None when it is a local folder."""
        return self.output_dir.rstrip("/") if fs.is_remote(self.output_dir) else None

    @property
    def run_dir(self) -> Path:
        """The local run directory: ``output_dir``, or for a bucket the staging folder the run is
        built in and published from (``core.mirror``)."""
        if self.output_url is not None:
            from core.mirror import staging_dir

            return staging_dir(self.output_url)
        return self.resolve(self.output_dir)

    def expand_inputs(self, ctx: RunContext | None = None) -> list[InputFile]:
        """Every input file, in a deterministic order (``ctx`` runs a ``cc_index`` input's WET
        pre-selection in parallel; without it, in this process).

        A file's ``name`` (its part of every document id) is its path below the fixed part of the
        pattern that matched it (``crawl/**/*.warc.gz`` -> ``2024/a.warc.gz``): stable when other
        files join the source, and independent of where the data is mounted.
        """
        files: list[InputFile] = []
        for i, spec in enumerate(self.inputs):
            source = spec.source or ("web_demo" if spec.embedded == "demo" else
                                     "common_crawl" if spec.cc_index else "input")
            if spec.cc_index is not None:
                from pipeline.cc_input import expand_cc_index

                try:
                    files.extend(expand_cc_index(spec.cc_index, source, spec.text_field, self.run_dir,
                                                 self.resolve, ctx))
                except (FileNotFoundError, ValueError) as exc:
                    raise JobError(f"inputs[{i}].cc_index: {exc}") from None
                continue
            if spec.embedded == "demo":
                from sample.demo import DEMO_DEFAULT_PAGES, ensure_demo_warc

                per_shard = max(1, (spec.demo_pages or DEMO_DEFAULT_PAGES) // spec.demo_shards)
                for k in range(spec.demo_shards):
                    path = ensure_demo_warc(self.run_dir / "input", seed=self.seed * 1000 + k, n_pages=per_shard)
                    files.append(InputFile(path, "warc", source, spec.text_field, path.name, spec.id_field,
                                           self.reader))
                continue
            if any(fs.is_remote(p) for p in spec.paths):
                files.extend(_remote_inputs(i, spec, source, self.reader))
                continue
            matched: list[tuple[Path, str]] = []
            for pattern in spec.paths:
                resolved = str(self.resolve(pattern))
                if glob.has_magic(resolved):
                    root = _fixed_root(resolved)
                    matched.extend((Path(h), os.path.relpath(h, root))
                                   for h in sorted(glob.glob(resolved, recursive=True)))
                else:
                    matched.append((Path(resolved), Path(resolved).name))
            missing = [str(p) for p, _ in matched if not p.exists()]
            if missing:
                raise JobError(f"inputs[{i}]: input not found: {', '.join(missing[:5])}")
            if not matched:
                raise JobError(f"inputs[{i}]: no file matches {spec.paths}")
            files.extend(InputFile(p, spec.format, source, spec.text_field, Path(name).as_posix(),
                                   spec.id_field, self.reader) for p, name in matched)
        seen: dict[tuple[str, str], Path | str] = {}
        for f in files:
            other = seen.setdefault((f.source, f.name), f.path)
            if other != f.path:
                raise JobError(f"inputs: {other} and {f.path} are both {f.name!r} in source {f.source!r}, so "
                               "their documents would share ids; give them different sources or match them "
                               "with one pattern from a common folder")
        return files


def _remote_inputs(i: int, spec: InputSpec, source: str, limits: ReadLimits) -> list[InputFile]:
    """Objects matching an input's URLs or URL globs (through ``core.fs``), named like local files:
    below the fixed part of the pattern."""
    matched: list[tuple[str, str]] = []
    for pattern in spec.paths:
        if not fs.is_remote(pattern):
            raise JobError(f"inputs[{i}]: mix of local paths and URLs ({pattern}); give them as two inputs")
        try:
            found = fs.expand(pattern)
        except fs.StorageError as exc:
            raise JobError(f"inputs[{i}]: {exc}") from None
        if glob.has_magic(pattern):
            parts = pattern.split("/")
            fixed = "/".join(next((parts[:k] for k, part in enumerate(parts) if glob.has_magic(part)), parts[:-1]))
            matched.extend((u, u[len(fixed):].lstrip("/")) for u in found)
        elif not found:
            raise JobError(f"inputs[{i}]: input not found: {pattern}")
        else:
            matched.append((pattern, fs.basename(pattern)))
    if not matched:
        raise JobError(f"inputs[{i}]: no object matches {spec.paths}")
    return [InputFile(u, spec.format, source, spec.text_field, name, spec.id_field, limits) for u, name in matched]


def _fixed_root(pattern: str) -> str:
    """The leading folders of a glob pattern that contain no wildcard."""
    parts = Path(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return str(Path(*fixed)) if fixed else "."

def _short(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(root)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def parse_job(data: dict[str, Any], base_dir: Path | None = None, source: str = "job") -> JobConfig:
    """Validate a job mapping; raise ``JobError`` with every problem listed."""
    if not isinstance(data, dict):
        raise JobError(f"{source}: a job file must be a mapping, got {type(data).__name__}")
    try:
        return JobConfig(**data, base_dir=base_dir or Path.cwd())
    except ValidationError as exc:
        raise JobError(f"{source}: invalid job: {_short(exc)}") from None


def load_job(path: str | Path, overrides: dict[str, Any] | None = None) -> JobConfig:
    """Read and validate a YAML job file. ``overrides`` replace top-level keys."""
    path = Path(path)
    if not path.exists():
        raise JobError(f"job file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise JobError(f"{path}: not valid YAML: {exc}") from None
    if overrides:
        data = {**(data or {}), **overrides}
    return parse_job(data, base_dir=Path.cwd(), source=str(path))
