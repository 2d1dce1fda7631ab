"""SQL for stories and story_members (the incremental story clustering)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, Sequence

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from pipeline.store import copy_temp

__all__ = ["UnplacedArticle", "StoredStory", "MemberVector", "StoryMember", "StoryStateRow",
           "unplaced_articles", "window_stories", "story_of_articles", "member_vectors", "create_stories",
           "add_members", "merge_story", "save_story_state", "refresh_story_facts", "MemberTitle", "StoryHeadline",
           "member_titles", "member_texts", "MemberText", "save_headlines", "live_story_ids", "count_other_languages"]

# When an article happened, for windows: published_at, else when it was fetched or stored.
ARTICLE_TIME = "coalesce(a.published_at, a.fetched_at, a.created_at)"


class UnplacedArticle(NamedTuple):
    article_id: int
    placed_at: datetime  # ARTICLE_TIME
    language: str | None
    duplicate_of: int | None
    title: str | None
    lead: str | None  # the first 3,000 characters of the body
    embedding: object  # pgvector value


class StoredStory(NamedTuple):
    """A live story's clustering state as stored."""

    story_id: int
    centroid: object | None  # pgvector value: mean of the members' unit vectors
    vector_count: int
    terms: dict | None  # lower-case term -> [members using it, surface form, uses in titles]
    first_seen: datetime
    last_seen: datetime
    article_count: int
    languages: list[str] | None
    model: str | None  # the embedding model of the centroid
    # members whose terms are counted in ``terms``: every member but syndicated copies, which
    # join without adding terms (article_count counts them too)
    term_members: int = 0


class MemberVector(NamedTuple):
    story_id: int
    embedding: object


class MemberTitle(NamedTuple):
    """A member's title and vector (None without a vector of the model): to pick headlines."""

    story_id: int
    article_id: int
    title: str | None
    language: str | None
    embedding: object | None


class MemberText(NamedTuple):
    story_id: int
    placed_at: datetime
    title: str | None
    lead: str | None  # the first 3,000 characters of the body
    language: str | None
    copy: bool = False  # a syndicated copy (articles.duplicate_of is set)


class StoryHeadline(NamedTuple):
    story_id: int
    headline: str | None
    headline_de: str | None
    headline_en: str | None


class StoryMember(NamedTuple):
    article_id: int
    story_id: int
    similarity: float
    placed_at: datetime


class StoryStateRow(NamedTuple):
    """What a run saves of a story it touched."""

    story_id: int
    centroid: object  # numpy float32 vector
    vector_count: int
    terms: dict
    label: str
    model: str


# --------------------------------------------------------------------------- stories: reading


_UNPLACED = f"""FROM embeddings e JOIN articles a USING (article_id)
                WHERE e.model = %s AND {ARTICLE_TIME} <= %s
                  AND NOT EXISTS (SELECT 1 FROM story_members m WHERE m.article_id = a.article_id)"""


def unplaced_articles(conn, model: str, until: datetime, languages: Sequence[str]) -> list[UnplacedArticle]:
    """Articles in ``languages`` (or of no known language) with a vector for the model, not in a
    story, that happened up to ``until``, in time order."""
    with conn.cursor(binary=True, row_factory=class_row(UnplacedArticle)) as cur:
        cur.execute(
            f"""SELECT a.article_id, {ARTICLE_TIME} AS placed_at, a.language, a.duplicate_of,
                       a.title, left(a.body_text, 3000) AS lead, e.embedding
                {_UNPLACED} AND (a.language IS NULL OR a.language = ANY(%s))
                ORDER BY placed_at, a.article_id""",
            (model, until, list(languages)),
        )
        return cur.fetchall()


def count_other_languages(conn, model: str, until: datetime, languages: Sequence[str]) -> int:
    """Unplaced articles in a language outside ``languages`` (they get no story)."""
    return conn.execute(f"SELECT count(*) {_UNPLACED} AND a.language <> ALL(%s)",
                        (model, until, list(languages))).fetchone()[0]


def live_story_ids(conn) -> list[int]:
    return [r[0] for r in conn.execute("SELECT story_id FROM stories WHERE merged_into IS NULL ORDER BY 1")]


def member_texts(conn, story_ids: Sequence[int]) -> dict[int, list[MemberText]]:
    """story_id -> its members' titles and leads, in time order (to re-read terms on --rescore)."""
    out: dict[int, list[MemberText]] = {}
    with conn.cursor(row_factory=class_row(MemberText)) as cur:
        cur.execute(
            """SELECT m.story_id, m.placed_at, a.title, left(a.body_text, 3000) AS lead, a.language,
                      a.duplicate_of IS NOT NULL AS copy
               FROM story_members m JOIN articles a USING (article_id)
               WHERE m.story_id = ANY(%s) ORDER BY m.story_id, m.placed_at, m.article_id""",
            (list(story_ids),),
        )
        for row in cur:
            out.setdefault(row.story_id, []).append(row)
    return out


def member_titles(conn, model: str, story_ids: Sequence[int]) -> list[MemberTitle]:
    """Members of stories with their titles and (when there is one) their vector of ``model``."""
    with conn.cursor(binary=True, row_factory=class_row(MemberTitle)) as cur:
        cur.execute(
            """SELECT m.story_id, m.article_id, a.title, a.language, e.embedding
               FROM story_members m JOIN articles a USING (article_id)
               LEFT JOIN embeddings e ON e.article_id = m.article_id AND e.model = %s
               WHERE m.story_id = ANY(%s) ORDER BY m.story_id, m.placed_at, m.article_id""",
            (model, list(story_ids)),
        )
        return cur.fetchall()


def window_stories(conn, since: datetime, until: datetime) -> list[StoredStory]:
    """Live stories seen in [since, until], by id."""
    with conn.cursor(binary=True, row_factory=class_row(StoredStory)) as cur:
        cur.execute(
            """SELECT story_id, centroid, vector_count, terms, first_seen, last_seen, article_count,
                      languages, model,
                      (SELECT count(*) FROM story_members m JOIN articles a USING (article_id)
                       WHERE m.story_id = s.story_id AND a.duplicate_of IS NULL)::int AS term_members
               FROM stories s WHERE merged_into IS NULL AND last_seen >= %s AND first_seen <= %s
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


def member_vectors(conn, model: str, story_ids: Sequence[int]) -> list[MemberVector]:
    """Vectors of the non-duplicate members of stories (to rebuild centroids after a re-embed)."""
    with conn.cursor(binary=True, row_factory=class_row(MemberVector)) as cur:
        cur.execute(
            """SELECT m.story_id, e.embedding FROM story_members m
               JOIN articles a USING (article_id)
               JOIN embeddings e ON e.article_id = m.article_id AND e.model = %s
               WHERE m.story_id = ANY(%s) AND a.duplicate_of IS NULL""",
            (model, list(story_ids)),
        )
        return cur.fetchall()


# --------------------------------------------------------------------------- stories: writing


def create_stories(conn, n: int) -> list[int]:
    """n new story ids in one statement, ascending (identity values follow insertion order)."""
    if n <= 0:
        return []
    rows = conn.execute(
        "INSERT INTO stories (created_at) SELECT now() FROM generate_series(1, %s) RETURNING story_id", (n,)
    ).fetchall()
    return sorted(r[0] for r in rows)


def add_members(conn, rows: Sequence[StoryMember]) -> int:
    """Re-running adds nothing (an article is in one story)."""
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


def save_story_state(conn, rows: Sequence[StoryStateRow]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            """UPDATE stories SET centroid = %s, vector_count = %s, terms = %s, label = %s, model = %s,
                      updated_at = now() WHERE story_id = %s""",
            [(r.centroid, r.vector_count, Jsonb(r.terms), r.label, r.model, r.story_id) for r in rows],
        )


def save_headlines(conn, rows: Sequence[StoryHeadline]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "UPDATE stories SET headline = %s, headline_de = %s, headline_en = %s WHERE story_id = %s",
            [(r.headline, r.headline_de, r.headline_en, r.story_id) for r in rows],
        )


def refresh_story_facts(conn, story_ids: Sequence[int]) -> None:
    """first/last seen, article count, languages, outlets, first URL and theme from the members (the
    source of truth)."""
    if not story_ids:
        return
    conn.execute(
        """WITH facts AS (
                SELECT m.story_id, min(m.placed_at) AS first_seen, max(m.placed_at) AS last_seen,
                       count(*)::int AS n,
                       array_agg(DISTINCT a.language ORDER BY a.language)
                           FILTER (WHERE a.language IS NOT NULL) AS languages,
                       array_agg(DISTINCT a.source ORDER BY a.source) FILTER (WHERE a.source IS NOT NULL) AS outlets,
                       (array_agg(coalesce(a.canonical_url, a.url) ORDER BY m.placed_at, m.article_id))[1] AS first_url
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
                   languages = coalesce(f.languages, '{}'), theme = b.theme, updated_at = now(),
                   outlets = coalesce(f.outlets, '{}'), first_url = f.first_url
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
