"""The entity gazetteer (pipeline/data/entities.yaml): companies, chips, models and families,
countries and blocs, funds and agencies, each with its German and English aliases, patterns and
types. One reader and one alias-matching rule for every stage that looks for entities (the
indicators' subjects, the stories' language-independent keys)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from pipeline.infra.config import DATA_DIR, UserError

ENTITIES_FILE = DATA_DIR / "entities.yaml"
ENTITY_TYPES = ("model", "group", "chip", "company", "country", "bloc", "region", "fund", "agency")
# an alias followed by a genitive or plural ending still names the entity ("Nvidia's", "Nvidias")
ALIAS_ENDINGS = r"['’]s|['’]|s"


class EntityConfigError(UserError):
    """The gazetteer is malformed; the message names the entry."""


@dataclass(frozen=True)
class Subject:
    name: str
    types: tuple[str, ...]
    aliases: tuple[str, ...]
    patterns: tuple[str, ...]
    counts_as: str | None = None   # a fund or agency: the state it spends for


def alias_is_exact(alias: str) -> bool:
    """Short and all-caps aliases match in their own case only ("EU", "ASML"); the rest in any case."""
    return len(alias) <= 4 or alias.isupper()


def as_tuple(value) -> tuple:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def parse_entities(raw, source: str = "entities.yaml") -> list[Subject]:
    """The entity gazetteer (entities.yaml's `entities`, or an indicators file's own `subjects`)."""
    if not isinstance(raw, dict):
        raise EntityConfigError(f"{source}: entities must be a mapping of name -> spec")
    names, subjects = {str(n) for n in raw}, []
    for name, spec in raw.items():
        where = f"{source}: entity {name!r}"
        spec = spec or {}
        if not isinstance(spec, dict) or set(spec) - {"type", "aliases", "patterns", "counts_as"}:
            raise EntityConfigError(f"{where}: expected type, aliases, patterns, counts_as")
        types = as_tuple(spec.get("type"))
        if not types or any(t not in ENTITY_TYPES for t in types):
            raise EntityConfigError(f"{where}: type must be one of {ENTITY_TYPES}")
        patterns = tuple(str(p) for p in as_tuple(spec.get("patterns")))
        for p in patterns:
            try:
                re.compile(p)
            except re.error as exc:
                raise EntityConfigError(f"{where}: bad pattern {p!r}: {exc}") from None
        aliases = tuple(str(a) for a in as_tuple(spec.get("aliases")))
        if not aliases and not patterns:
            aliases = (str(name),)
        counts_as = spec.get("counts_as")
        if counts_as is not None and counts_as not in names:
            raise EntityConfigError(f"{where}: counts_as {counts_as!r} is not an entity")
        subjects.append(Subject(str(name), types, aliases, patterns, counts_as))
    return subjects


def read_yaml(path: str, error: type[UserError] = EntityConfigError):
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"not found: {path}") from None
    except yaml.YAMLError as exc:
        raise error(f"{path}: invalid YAML: {str(exc).splitlines()[0]}") from None
    return data


def load_entities(path: Path | str | None = None) -> tuple[Subject, ...]:
    """The gazetteer file (the shipped one by default), re-read when it changes."""
    path = Path(path) if path else ENTITIES_FILE
    return _load_entities_cached(str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0)


@lru_cache(maxsize=4)
def _load_entities_cached(path: str, _mtime: int) -> tuple[Subject, ...]:
    data = read_yaml(path)
    if not isinstance(data, dict) or "entities" not in data:
        raise EntityConfigError(f"{path}: expected a mapping with `entities`")
    return tuple(parse_entities(data["entities"], Path(path).name))


__all__ = ["ENTITIES_FILE", "ENTITY_TYPES", "ALIAS_ENDINGS", "EntityConfigError", "Subject", "alias_is_exact",
           "as_tuple", "parse_entities", "read_yaml", "load_entities"]
