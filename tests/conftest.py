"""Shared fixtures: the optional ../shared/data folder and one Ray session for the whole run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, skipping the test when it is absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared test data not available: {p}")
    return p


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray for every test that needs it (starting Ray costs seconds)."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def cc_sample(tmp_path_factory):
    """A Common Crawl-shaped sample (WARC, WET, index Parquet) of 300 demo pages, built once."""
    from sample.cc_sample import build_cc_sample

    return build_cc_sample(tmp_path_factory.mktemp("cc_sample"), n_pages=300, seed=0)
