"""SQL for entities: the canonical table seeded from entities.yaml, and which entities each article names.

Every function takes a connection and runs inside the caller's transaction (the stage owns it);
none commits. Entities are upserted by name; one that left the YAML is kept (observations point at
it) and marked inactive.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from pipeline.store import copy_temp

__all__ = ["EntityRow", "entity_ids", "save_article_entities", "sync_entities"]


class EntityRow(NamedTuple):
    name: str
    entity_type: str
    types: list[str]
    aliases: list[str]
    patterns: list[str]
    counts_as: str | None


def sync_entities(conn, rows: Sequence[EntityRow]) -> dict[str, int]:
    """Upsert the YAML's entities, mark the others inactive; returns name -> entity_id (all, active or not)."""
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO entities (name, entity_type, types, aliases, patterns, counts_as)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (name) DO UPDATE SET entity_type = excluded.entity_type, types = excluded.types,
                   aliases = excluded.aliases, patterns = excluded.patterns, counts_as = excluded.counts_as,
                   active = true, updated_at = now()
               WHERE (entities.entity_type, entities.types, entities.aliases, entities.patterns,
                      entities.counts_as, entities.active)
                     IS DISTINCT FROM (excluded.entity_type, excluded.types, excluded.aliases, excluded.patterns,
                                       excluded.counts_as, true)""",
            [tuple(r) for r in rows],
        )
        cur.execute("UPDATE entities SET active = false, updated_at = now() WHERE active AND NOT (name = ANY(%s))",
                    ([r.name for r in rows],))
    return entity_ids(conn)


def entity_ids(conn) -> dict[str, int]:
    return dict(conn.execute("SELECT name, entity_id FROM entities").fetchall())


def save_article_entities(conn, article_ids: Sequence[int], counts: Mapping[int, Mapping[int, int]]) -> int:
    """Replace the entity links of these articles with ``counts`` (article_id -> entity_id -> mentions)."""
    if not article_ids:
        return 0
    conn.execute("DELETE FROM article_entities WHERE article_id = ANY(%s)", (list(article_ids),))
    rows = ((a, e, n) for a, per in counts.items() for e, n in per.items() if n > 0)
    copy_temp(conn, "tmp_article_entities", [("article_id", "bigint"), ("entity_id", "bigint"), ("mentions", "integer")],
              rows)
    return conn.execute(
        """INSERT INTO article_entities (article_id, entity_id, mentions)
           SELECT article_id, entity_id, mentions FROM tmp_article_entities
           ON CONFLICT (article_id, entity_id) DO UPDATE SET mentions = excluded.mentions""").rowcount
