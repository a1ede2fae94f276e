"""Counters every stage reports, and their merge into a job-wide funnel."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StageStats:
    """What one stage did to the documents it saw (one shard, or merged over many).

    Invariant: ``docs_in == kept + sum(rejected.values()) + sum(errors.values())``.
    """

    stage: str
    docs_in: int = 0
    kept: int = 0
    rejected: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    #: Free-form counters a stage adds (e.g. PII matches per type, charsets seen).
    extra: Counter = field(default_factory=Counter)

    def add(self, key: str, n: int | float = 1) -> None:
        """Increment a stage-specific counter."""
        self.extra[key] += n

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def errors_total(self) -> int:
        return sum(self.errors.values())

    def balanced(self) -> bool:
        return self.docs_in == self.kept + self.rejected_total + self.errors_total

    def merge(self, other: StageStats) -> StageStats:
        self.docs_in += other.docs_in
        self.kept += other.kept
        self.rejected.update(other.rejected)
        self.errors.update(other.errors)
        self.bytes_in += other.bytes_in
        self.bytes_out += other.bytes_out
        self.seconds += other.seconds
        self.extra.update(other.extra)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "docs_in": self.docs_in,
            "kept": self.kept,
            "rejected": dict(sorted(self.rejected.items())),
            "errors": dict(sorted(self.errors.items())),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "seconds": round(self.seconds, 4),
            "extra": dict(sorted(self.extra.items())),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StageStats:
        return cls(
            stage=d["stage"],
            docs_in=d["docs_in"],
            kept=d["kept"],
            rejected=Counter(d.get("rejected", {})),
            errors=Counter(d.get("errors", {})),
            bytes_in=d.get("bytes_in", 0),
            bytes_out=d.get("bytes_out", 0),
            seconds=d.get("seconds", 0.0),
            extra=Counter(d.get("extra", {})),
        )


def merge_stage_lists(lists: list[list[StageStats]]) -> list[StageStats]:
    """Merge per-shard lists of stage stats position by position (a stage may appear twice)."""
    merged: list[StageStats] = []
    for stats_list in lists:
        for k, s in enumerate(stats_list):
            if k == len(merged):
                merged.append(StageStats(stage=s.stage))
            merged[k].merge(s)
    return merged


def funnel(stages: list[StageStats]) -> dict[str, Any]:
    """A JSON-ready funnel: per stage counts plus keep rate relative to the stage's input."""
    rows = []
    for s in stages:
        d = s.to_dict()
        d["keep_rate"] = round(s.kept / s.docs_in, 6) if s.docs_in else None
        d["balanced"] = s.balanced()
        rows.append(d)
    # A reader's input is records, not documents (WARC requests, metadata ...): documents enter
    # the funnel as the reader's output.
    reads = bool(stages) and stages[0].stage == "read"
    records_in = stages[0].docs_in if stages else 0
    first_in = stages[0].kept if reads else records_in
    last_out = stages[-1].kept if stages else 0
    return {
        "records_in": records_in,
        "docs_in": first_in,
        "docs_out": last_out,
        "overall_keep_rate": round(last_out / first_in, 6) if first_in else None,
        "stages": rows,
    }
