"""Stage names for job files: the project's stages plus any installed plug-ins.

The core knows stages only as classes. This module, at the orchestration layer, maps the names used
in job files to classes: every class in ``stages.STAGES``, then every entry point of the group
``axk1.stages`` that another installed package declares (``name = "pkg.module:StageClass"``), the
way a third-party stage joins without touching this repository.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from core.stage import GlobalStage, Stage, StageClass, StageSpec, stage_ref

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "axk1.stages"


def registry() -> dict[str, StageClass]:
    """Every known stage by its ``name``; two classes claiming one name is an error."""
    return dict(_load())


@cache
def _load() -> dict[str, StageClass]:
    from stages import STAGES

    found: dict[str, StageClass] = {}

    def add(cls: Any, origin: str) -> None:
        if not (isinstance(cls, type) and issubclass(cls, (Stage, GlobalStage))):
            raise TypeError(f"{origin} is not a Stage or GlobalStage class")
        if cls.name in found and found[cls.name] is not cls:
            raise ValueError(f"stage name {cls.name!r} is claimed by {stage_ref(found[cls.name])} "
                             f"and {stage_ref(cls)}")
        found[cls.name] = cls

    for cls in STAGES:
        add(cls, stage_ref(cls))
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except Exception as exc:  # one broken plug-in must not hide the others
            log.warning("stage plug-in %s (%s) could not be loaded: %s", ep.name, ep.value, exc)
            continue
        add(cls, f"entry point {ep.name} ({ep.value})")
    return found


def stage_class(name: str) -> StageClass:
    reg = _load()
    if name not in reg:
        raise KeyError(f"unknown stage {name!r}; known stages: {', '.join(sorted(reg))}")
    return reg[name]


def build_stage(name: str, config: dict[str, Any]) -> Stage | GlobalStage:
    """A stage instance by its job-file name."""
    return stage_class(name)(config)


def resolve_specs(specs: list[tuple[str, dict[str, Any]]]) -> list[StageSpec]:
    """Job-file (name, options) pairs to the (class, options) pairs executors take."""
    return [(stage_class(name), cfg) for name, cfg in specs]
