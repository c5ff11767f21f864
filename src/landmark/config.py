"""Registry configuration: GTO's ``.gto`` allow-lists and landmark's ``.landmark.yaml``.

``.gto`` keeps exactly GTO's keys (GTO refuses a ``.gto`` with keys it does not know), so
landmark's own settings, such as the promotion order of stages, live in ``.landmark.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import names, yamlio
from .errors import ConfigError, UnknownStage, UnknownType
from .git import Repo

GTO_FILE = ".gto"
LANDMARK_FILE = ".landmark.yaml"
_GTO_KEYS = {"types", "stages", "enrichments", "autoload_enrichments"}
_GTO_ENV_KEYS = {"INDEX", "CONFIG_FILE_NAME", "LOG_LEVEL", "DEBUG", "EMOJIS"}
_LANDMARK_KEYS = {"stage_order"}


@dataclass(frozen=True)
class Config:
    types: tuple[str, ...] | None = None
    stages: tuple[str, ...] | None = None
    stage_order: tuple[str, ...] = ()

    def check_stage(self, stage: str) -> str:
        names.check_stage(stage)
        if self.stages is not None and stage not in self.stages:
            allowed = ", ".join(self.stages) or "none"
            raise UnknownStage(f"stage {stage!r} is not allowed by {GTO_FILE} (allowed: {allowed})")
        return stage

    def check_type(self, type_: str) -> str:
        names.check_name(type_, "type")
        if self.types is not None and type_ not in self.types:
            allowed = ", ".join(self.types) or "none"
            raise UnknownType(f"type {type_!r} is not allowed by {GTO_FILE} (allowed: {allowed})")
        return type_

    def previous_stage(self, stage: str) -> str | None:
        """The stage a version must hold before it may enter ``stage``."""
        if stage in self.stage_order:
            i = self.stage_order.index(stage)
            return self.stage_order[i - 1] if i > 0 else None
        return None


def _name_list(value: Any, key: str, source: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{source}: '{key}' must be a list of names; fix the file")
    for v in value:
        if not names.is_valid_name(v):
            raise ConfigError(f"{source}: '{key}' has an invalid name {v!r}; fix the file")
    return tuple(value)


def _mapping(data: bytes | None, source: str) -> dict[str, Any]:
    if data is None or not data.strip():
        return {}
    parsed = yamlio.load(data, source)
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise ConfigError(f"{source}: expected a mapping of settings; fix the file")
    return parsed


def parse(gto: bytes | None, landmark: bytes | None) -> Config:
    g = _mapping(gto, GTO_FILE)
    unknown = set(g) - _GTO_KEYS - _GTO_ENV_KEYS
    if unknown:
        raise ConfigError(
            f"{GTO_FILE}: unknown key(s) {', '.join(sorted(unknown))}; GTO accepts only "
            f"types and stages (landmark settings go in {LANDMARK_FILE})"
        )
    lm = _mapping(landmark, LANDMARK_FILE)
    unknown = set(lm) - _LANDMARK_KEYS
    if unknown:
        raise ConfigError(f"{LANDMARK_FILE}: unknown key(s) {', '.join(sorted(unknown))}")
    order = _name_list(lm.get("stage_order"), "stage_order", LANDMARK_FILE) or ()
    stages = _name_list(g.get("stages"), "stages", GTO_FILE)
    if stages is not None:
        missing = [s for s in order if s not in stages]
        if missing:
            raise ConfigError(
                f"{LANDMARK_FILE}: stage_order names {', '.join(missing)}, "
                f"which {GTO_FILE} does not allow"
            )
    return Config(_name_list(g.get("types"), "types", GTO_FILE), stages, order)


def read(repo: Repo) -> Config:
    return parse(repo.worktree_file(GTO_FILE), repo.worktree_file(LANDMARK_FILE))
