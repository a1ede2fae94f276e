"""Small helpers shared by the benchmarks: locating shared data, timing, markdown tables."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared(*parts: str) -> Path:
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        raise SystemExit(f"this benchmark needs {p} (the shared test data folder beside the repo)")
    return p


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    """Measure wall and CPU seconds (this process) of a block."""
    out: dict[str, float] = {}
    w0, c0 = time.perf_counter(), time.process_time()
    yield out
    out["wall"] = time.perf_counter() - w0
    out["cpu"] = time.process_time() - c0


def best_of(n: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``fn`` n times; return the fastest wall time and the last result."""
    best, result = float("inf"), None
    for _ in range(n):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.0f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
