"""Indicator definitions, the subject gazetteer and the API sources, read from indicators.yaml.

Everything the text rules and the collectors need to know about *what* is tracked lives in the
YAML; the code only knows the number grammar and how to measure closeness in a sentence.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipeline.entities import (ENTITIES_FILE, ENTITY_TYPES, EntityConfigError, Subject, load_entities,
                               parse_entities, read_yaml)
from pipeline.entities import as_tuple as _as_tuple
from pipeline.infra.config import DATA_DIR

DEFAULT_FILE = DATA_DIR / "indicators.yaml"
KINDS = ("downloads", "self_sufficiency_target", "performance_ratio", "market_share", "investment")
UNITS = ("count", "percent", "usd", "ratio")
CURRENCIES = ("usd", "eur", "gbp", "jpy", "cny", "krw", "twd")
SUBJECT_TYPES = ENTITY_TYPES
VALUE_FORMS = ("percent", "currency", "count", "ratio")
PROVIDERS = {"huggingface": ("downloads", "likes"), "github": ("stargazers_count", "forks_count",
                                                               "subscribers_count")}


class IndicatorConfigError(EntityConfigError):
    """indicators.yaml (or the gazetteer it reads) is malformed; the message names the entry."""


@dataclass(frozen=True)
class Target:
    value: float
    year: int
    note: str | None = None
    stated: dt.date | None = None   # when the target was stated (the newest statement wins)


@dataclass(frozen=True)
class ApiField:
    provider: str
    field: str


@dataclass(frozen=True)
class IndicatorDef:
    key: str
    kind: str
    unit: str
    description: str = ""
    subject_types: tuple[tuple[str, ...], ...] = ()   # groups, in order of preference
    requires_type: str | None = None
    values: tuple[str, ...] = ()
    window: int = 10
    cues: tuple[re.Pattern, ...] = ()
    # a cue whose own words, or the five words after it, match one of these does not count ("share of
    # China's cloud market")
    cue_exclusions: tuple[re.Pattern, ...] = ()
    api: ApiField | None = None
    target: Target | None = None
    targets: dict[str, Target] = field(default_factory=dict)

    @property
    def from_text(self) -> bool:
        return self.api is None


@dataclass(frozen=True)
class ApiSource:
    provider: str
    repo: str
    subject: str
    entity: str | None = None   # the model family (else found in the repo name by the gazetteer)


@dataclass(frozen=True)
class Definitions:
    indicators: tuple[IndicatorDef, ...]
    subjects: tuple[Subject, ...]
    negative_cues: tuple[re.Pattern, ...]
    api_sources: tuple[ApiSource, ...]
    # negative cues that veto an amount however far when they name what it is for ("set aside $1.5
    # billion for legal claims"); any other negative cue after "for" counts by its distance ("for jobs")
    purpose_cues: tuple[re.Pattern, ...] = ()

    def by_key(self, key: str) -> IndicatorDef:
        for ind in self.indicators:
            if ind.key == key:
                return ind
        raise KeyError(key)

    @property
    def text_indicators(self) -> tuple[IndicatorDef, ...]:
        return tuple(i for i in self.indicators if i.from_text)

    def subjects_of(self, ind: IndicatorDef) -> list[str]:
        """The subject names an indicator tracks (for indicator_definitions.subjects)."""
        if ind.api is not None:
            return [s.subject for s in self.api_sources if s.provider == ind.api.provider]
        wanted = {t for group in ind.subject_types for t in group}
        return [s.name for s in self.subjects if set(s.types) & wanted]


def compile_cue(pattern: str, where: str) -> re.Pattern:
    try:
        # cues start at a word start: "Stellen" must not fire inside "bereitstellen"
        return re.compile(rf"(?<![\w])(?:{pattern})" if not pattern.startswith("'") else pattern, re.IGNORECASE)
    except re.error as exc:
        raise IndicatorConfigError(f"{where}: bad regex {pattern!r}: {exc}") from None


def _target(raw, where: str) -> Target | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or "value" not in raw or "year" not in raw:
        raise IndicatorConfigError(f"{where}: a target needs value and year")
    try:
        stated = raw.get("stated")
        stated = stated if isinstance(stated, dt.date) or stated is None else dt.date.fromisoformat(str(stated))
        return Target(float(raw["value"]), int(raw["year"]), raw.get("note"), stated)
    except (TypeError, ValueError):
        raise IndicatorConfigError(f"{where}: target value/year must be numbers, stated a date") from None


def parse_definitions(data: dict, source: str = "indicators.yaml") -> Definitions:
    if not isinstance(data, dict):
        raise IndicatorConfigError(f"{source}: expected a mapping with subjects/indicators")
    unknown = set(data) - {"subjects", "indicators", "negative_cues", "purpose_cues", "api_sources"}
    if unknown:
        raise IndicatorConfigError(f"{source}: unknown top-level key(s) {sorted(unknown)}")
    try:
        subjects = parse_entities(data["subjects"], source) if "subjects" in data else list(load_entities())
    except EntityConfigError as exc:  # a bad gazetteer leaves the indicator definitions unusable
        raise IndicatorConfigError(str(exc)) from None


    indicators, seen = [], set()
    for i, raw in enumerate(data.get("indicators") or []):
        key = raw.get("key") if isinstance(raw, dict) else None
        where = f"{source}: indicator {key or f'#{i + 1}'}"
        if not key:
            raise IndicatorConfigError(f"{where}: missing key")
        if key in seen:
            raise IndicatorConfigError(f"{where}: duplicate key")
        seen.add(key)
        allowed = {"key", "kind", "unit", "description", "subject_types", "requires_type", "values",
                   "window", "cues", "cue_exclusions", "api", "target", "targets"}
        extra = set(raw) - allowed
        if extra:
            raise IndicatorConfigError(f"{where}: unknown key(s) {sorted(extra)}")
        if raw.get("kind") not in KINDS:
            raise IndicatorConfigError(f"{where}: kind must be one of {KINDS}")
        if raw.get("unit") not in UNITS:
            raise IndicatorConfigError(f"{where}: unit must be one of {UNITS}")
        api = None
        if raw.get("api") is not None:
            provider, fld = raw["api"].get("provider"), raw["api"].get("field")
            if provider not in PROVIDERS or fld not in PROVIDERS[provider]:
                raise IndicatorConfigError(f"{where}: api needs provider/field among {PROVIDERS}")
            api = ApiField(provider, fld)
        stypes = tuple(_as_tuple(group) for group in _as_tuple(raw.get("subject_types")))
        values = _as_tuple(raw.get("values"))
        if api is None:
            if not stypes or any(t not in SUBJECT_TYPES for group in stypes for t in group):
                raise IndicatorConfigError(f"{where}: subject_types must be among {SUBJECT_TYPES}")
            if not values or any(v not in VALUE_FORMS for v in values):
                raise IndicatorConfigError(f"{where}: values must be among {VALUE_FORMS}")
            if not raw.get("cues"):
                raise IndicatorConfigError(f"{where}: a text indicator needs cues")
        targets = {str(s): _target(t, f"{where} target {s}") for s, t in (raw.get("targets") or {}).items()}
        indicators.append(IndicatorDef(
            key=str(key), kind=raw["kind"], unit=raw["unit"],
            description=" ".join(str(raw.get("description") or "").split()),
            subject_types=stypes, requires_type=raw.get("requires_type"), values=values,
            window=int(raw.get("window") or 10),
            cues=tuple(compile_cue(str(c), where) for c in _as_tuple(raw.get("cues"))),
            cue_exclusions=tuple(compile_cue(str(c), where) for c in _as_tuple(raw.get("cue_exclusions"))),
            api=api, target=_target(raw.get("target"), where), targets=targets,
        ))

    negative = tuple(compile_cue(str(c), f"{source}: negative_cues") for c in data.get("negative_cues") or [])
    purposes = tuple(compile_cue(str(c), f"{source}: purpose_cues") for c in data.get("purpose_cues") or [])

    sources, seen_src = [], set()
    for raw in data.get("api_sources") or []:
        where = f"{source}: api source {raw!r}"
        if not isinstance(raw, dict) or raw.get("provider") not in PROVIDERS or not raw.get("repo"):
            raise IndicatorConfigError(f"{where}: needs provider ({', '.join(PROVIDERS)}) and repo")
        repo = str(raw["repo"]).strip("/")
        if not re.fullmatch(r"[\w.\-]+/[\w.\-]+", repo):
            raise IndicatorConfigError(f"{where}: repo must look like owner/name")
        src = ApiSource(raw["provider"], repo, str(raw.get("subject") or repo),
                        str(raw["entity"]) if raw.get("entity") else None)
        if src.entity and src.entity not in {e.name for e in subjects}:
            raise IndicatorConfigError(f"{where}: entity {src.entity!r} is not in the entity list")
        if (src.provider, src.subject) in seen_src:
            raise IndicatorConfigError(f"{where}: duplicate subject for {src.provider}")
        seen_src.add((src.provider, src.subject))
        sources.append(src)
    return Definitions(tuple(indicators), tuple(subjects), negative, tuple(sources), purposes)


def load_definitions(path: Path | str | None = None) -> Definitions:
    path = Path(path) if path else DEFAULT_FILE
    # keyed on both files' mtimes: a new alias in entities.yaml is picked up without a restart
    return _load_cached(str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0,
                        ENTITIES_FILE.stat().st_mtime_ns if ENTITIES_FILE.exists() else 0)


@lru_cache(maxsize=4)
def _load_cached(path: str, _mtime: int, _entities_mtime: int) -> Definitions:
    return parse_definitions(_read_yaml(path), Path(path).name)


def _read_yaml(path: str):
    return read_yaml(path, IndicatorConfigError)
