"""SQL for article_themes, stories and story_members (themes and the incremental story clustering)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterator, Sequence

from psycopg.types.json import Jsonb

from pipeline.store import copy_temp

# When an article happened, for windows: published_at, else when it was fetched or stored.
ARTICLE_TIME = "coalesce(a.published_at, a.fetched_at, a.created_at)"

# --------------------------------------------------------------------------- themes

_UNTHEMED = """
    FROM embeddings e JOIN articles a USING (article_id)
    LEFT JOIN article_themes t USING (article_id)
    WHERE e.model = %(model)s AND (t.article_id IS NULL OR t.model IS DISTINCT FROM %(model)s)
"""


def count_unthemed(conn, model: str) -> int:
    return conn.execute("SELECT count(*) " + _UNTHEMED, {"model": model}).fetchone()[0]


def iter_unthemed(pool, model: str, batch_size: int) -> Iterator[list[tuple]]:
    """Batches of (article_id, title, text lead, embedding), keyset-paged by id."""
    last = 0
    while True:
        with pool.connection() as conn, conn.cursor(binary=True) as cur:
            cur.execute(
                "SELECT a.article_id, a.title, left(a.body_text, 4000), e.embedding " + _UNTHEMED
                + " AND a.article_id > %(last)s ORDER BY a.article_id LIMIT %(limit)s",
                {"model": model, "last": last, "limit": batch_size},
            )
            rows = cur.fetchall()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def write_themes(conn, model: str, rows: Sequence[tuple[int, str, float, str]]) -> int:
    """rows: (article_id, theme, theme_score, scores json). COPY into a temp table, then upsert."""
    copy_temp(conn, "themes_in", [("article_id", "bigint"), ("theme", "text"), ("theme_score", "real"),
                                  ("scores", "jsonb")], rows)
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO article_themes (article_id, theme, theme_score, scores, model)
               SELECT i.article_id, i.theme, least(greatest(i.theme_score, 0), 1), i.scores, %s
               FROM themes_in i JOIN articles a USING (article_id)
               ON CONFLICT (article_id) DO UPDATE SET theme = EXCLUDED.theme,
                   theme_score = EXCLUDED.theme_score, scores = EXCLUDED.scores,
                   model = EXCLUDED.model, assigned_at = now()""",
            (model,),
        )
        n = cur.rowcount
    conn.commit()
    return n


# --------------------------------------------------------------------------- stories: reading


def unplaced_articles(conn, model: str, until: datetime) -> list[tuple]:
    """Articles with a vector for the model, not in a story, that happened up to ``until``:
    (article_id, placed_at, language, duplicate_of, title, lead, embedding), in time order."""
    with conn.cursor(binary=True) as cur:
        cur.execute(
            f"""SELECT a.article_id, {ARTICLE_TIME} AS placed_at, a.language, a.duplicate_of,
                       a.title, left(a.body_text, 3000), e.embedding
                FROM embeddings e JOIN articles a USING (article_id)
                WHERE e.model = %s AND {ARTICLE_TIME} <= %s
                  AND NOT EXISTS (SELECT 1 FROM story_members m WHERE m.article_id = a.article_id)
                ORDER BY placed_at, a.article_id""",
            (model, until),
        )
        return cur.fetchall()


def window_stories(conn, since: datetime, until: datetime) -> list[tuple]:
    """Live stories seen in [since, until]: (story_id, centroid, vector_count, terms, first_seen,
    last_seen, article_count, languages, model)."""
    with conn.cursor(binary=True) as cur:
        cur.execute(
            """SELECT story_id, centroid, vector_count, terms, first_seen, last_seen, article_count,
                      languages, model
               FROM stories WHERE merged_into IS NULL AND last_seen >= %s AND first_seen <= %s
               ORDER BY story_id""",
            (since, until),
        )
        return cur.fetchall()


def story_of_articles(conn, article_ids: Sequence[int]) -> dict[int, int]:
    """article_id -> live story_id for articles already placed (originals of syndicated copies)."""
    if not article_ids:
        return {}
    rows = conn.execute(
        "SELECT article_id, story_id FROM story_members WHERE article_id = ANY(%s)", (list(article_ids),)
    ).fetchall()
    return {a: s for a, s in rows}


def member_vectors(conn, model: str, story_ids: Sequence[int]) -> list[tuple]:
    """(story_id, embedding) of the non-duplicate members of stories (to rebuild centroids after
    a re-embed)."""
    with conn.cursor(binary=True) as cur:
        cur.execute(
            """SELECT m.story_id, e.embedding FROM story_members m
               JOIN articles a USING (article_id)
               JOIN embeddings e ON e.article_id = m.article_id AND e.model = %s
               WHERE m.story_id = ANY(%s) AND a.duplicate_of IS NULL""",
            (model, list(story_ids)),
        )
        return cur.fetchall()


# --------------------------------------------------------------------------- stories: writing


def create_story(conn) -> int:
    return conn.execute("INSERT INTO stories DEFAULT VALUES RETURNING story_id").fetchone()[0]


def create_stories(conn, n: int) -> list[int]:
    """n new story ids in one statement, ascending (identity values follow insertion order)."""
    if n <= 0:
        return []
    rows = conn.execute(
        "INSERT INTO stories (created_at) SELECT now() FROM generate_series(1, %s) RETURNING story_id", (n,)
    ).fetchall()
    return sorted(r[0] for r in rows)


def add_members(conn, rows: Sequence[tuple[int, int, float, datetime]]) -> int:
    """rows: (article_id, story_id, similarity, placed_at). Re-running adds nothing."""
    if not rows:
        return 0
    copy_temp(conn, "members_in", [("article_id", "bigint"), ("story_id", "bigint"), ("similarity", "real"),
                                   ("placed_at", "timestamptz")], rows)
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO story_members (article_id, story_id, similarity, placed_at)
               SELECT i.article_id, i.story_id, i.similarity, i.placed_at
               FROM members_in i JOIN articles a USING (article_id)
               ON CONFLICT (article_id) DO NOTHING"""
        )
        return cur.rowcount


def merge_story(conn, loser: int, survivor: int) -> None:
    """Fold one story into another: members move, the loser points at the survivor."""
    conn.execute("UPDATE story_members SET story_id = %s WHERE story_id = %s", (survivor, loser))
    conn.execute("UPDATE stories SET merged_into = %s WHERE merged_into = %s", (survivor, loser))
    conn.execute(
        "UPDATE stories SET merged_into = %s, article_count = 0, updated_at = now() WHERE story_id = %s",
        (survivor, loser),
    )


def save_story_state(conn, rows: Sequence[tuple]) -> None:
    """rows: (story_id, centroid, vector_count, terms dict, label, model)."""
    with conn.cursor() as cur:
        cur.executemany(
            """UPDATE stories SET centroid = %s, vector_count = %s, terms = %s, label = %s, model = %s,
                      updated_at = now() WHERE story_id = %s""",
            [(c, n, Jsonb(t), label, model, sid) for sid, c, n, t, label, model in rows],
        )


def refresh_story_facts(conn, story_ids: Sequence[int]) -> None:
    """first/last seen, article count, languages and theme from the members (the source of truth)."""
    if not story_ids:
        return
    conn.execute(
        f"""WITH facts AS (
                SELECT m.story_id, min(m.placed_at) AS first_seen, max(m.placed_at) AS last_seen,
                       count(*)::int AS n,
                       array_agg(DISTINCT a.language ORDER BY a.language)
                           FILTER (WHERE a.language IS NOT NULL) AS languages
                FROM story_members m JOIN articles a USING (article_id)
                WHERE m.story_id = ANY(%(ids)s) GROUP BY m.story_id),
            theme_counts AS (
                SELECT m.story_id, coalesce(t.theme, 'other') AS theme, count(*) AS n,
                       sum(coalesce(t.theme_score, 0)) AS total
                FROM story_members m LEFT JOIN article_themes t USING (article_id)
                WHERE m.story_id = ANY(%(ids)s) GROUP BY 1, 2),
            best AS (
                SELECT DISTINCT ON (story_id) story_id, theme FROM theme_counts
                -- the most frequent theme; 'other' only when no theme has as many members
                ORDER BY story_id, n DESC, (theme = 'other'), total DESC, theme)
            UPDATE stories s SET first_seen = f.first_seen, last_seen = f.last_seen, article_count = f.n,
                   languages = coalesce(f.languages, '{{}}'), theme = b.theme, updated_at = now()
            FROM facts f JOIN best b USING (story_id)
            WHERE s.story_id = f.story_id""",
        {"ids": list(story_ids)},
    )
    conn.execute(
        """UPDATE stories s SET theme_shares = x.shares FROM (
               SELECT story_id, jsonb_object_agg(theme, share) AS shares FROM (
                   SELECT m.story_id, coalesce(t.theme, 'other') AS theme,
                          round(count(*)::numeric / sum(count(*)) OVER (PARTITION BY m.story_id), 3) AS share
                   FROM story_members m LEFT JOIN article_themes t USING (article_id)
                   WHERE m.story_id = ANY(%s) GROUP BY 1, 2) y
               GROUP BY story_id) x
           WHERE s.story_id = x.story_id""",
        (list(story_ids),),
    )


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
