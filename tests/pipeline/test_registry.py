"""Stage names for job files: the project's stages, plug-ins by entry point, clear errors."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint

import pyarrow as pa
import pytest

import pipeline.registry as reg
from core.stage import Stage
from stages import STAGES


class _Upper(Stage):
    """A stand-in third-party stage."""

    name = "upper_case_plugin"

    def process(self, batch: pa.Table, stats) -> pa.Table:  # pragma: no cover - not run here
        return batch


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch):
    reg._load.cache_clear()
    yield monkeypatch
    reg._load.cache_clear()


def _plugins(monkeypatch: pytest.MonkeyPatch, *points: EntryPoint) -> None:
    monkeypatch.setattr(reg, "entry_points", lambda group: list(points) if group == reg.ENTRY_POINT_GROUP else [])


def test_every_project_stage_has_its_name(fresh_registry) -> None:
    names = reg.registry()
    assert sorted(names) == sorted(cls.name for cls in STAGES)
    assert {"extract", "langid", "quality", "exact_dedup", "minhash_dedup", "pii", "mix"} <= set(names)


def test_unknown_name_lists_the_known_ones(fresh_registry) -> None:
    with pytest.raises(KeyError, match="unknown stage 'qualty'.*quality"):
        reg.build_stage("qualty", {})


def test_plugin_stage_joins_by_entry_point(fresh_registry) -> None:
    _plugins(fresh_registry, EntryPoint("upper", f"{__name__}:_Upper", reg.ENTRY_POINT_GROUP))
    assert reg.stage_class("upper_case_plugin") is _Upper
    assert reg.resolve_specs([("upper_case_plugin", {})]) == [(_Upper, {})]


def test_broken_plugin_is_logged_and_the_rest_still_load(fresh_registry, caplog) -> None:
    _plugins(fresh_registry, EntryPoint("gone", "no_such_module_xyz:Stage", reg.ENTRY_POINT_GROUP))
    with caplog.at_level(logging.WARNING, logger="pipeline.registry"):
        names = reg.registry()
    assert "quality" in names and "no_such_module_xyz" in caplog.text


def test_plugin_claiming_a_taken_name_is_an_error(fresh_registry) -> None:
    clash = type("Clash", (_Upper,), {"name": "quality", "__module__": __name__})
    globals()["Clash"] = clash
    _plugins(fresh_registry, EntryPoint("clash", f"{__name__}:Clash", reg.ENTRY_POINT_GROUP))
    with pytest.raises(ValueError, match="stage name 'quality' is claimed by"):
        reg.registry()
