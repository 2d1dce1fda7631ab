"""SQL for article_themes: which articles still need a theme for a model, and writing themes."""

from __future__ import annotations

from typing import NamedTuple, Sequence

from psycopg.rows import class_row

from pipeline.store import claim_unfinished, copy_temp

__all__ = ["UnthemedArticle", "ArticleTheme", "count_unthemed", "claim_unthemed", "write_themes"]


class UnthemedArticle(NamedTuple):
    article_id: int
    title: str | None
    lead: str | None  # the first 4,000 characters of the body
    language: str | None  # detected at extraction ('de', 'en', 'other'), the feed's when too short
    embedding: object  # pgvector value (numpy array or Vector)


class ArticleTheme(NamedTuple):
    article_id: int
    theme: str  # the primary theme
    theme_score: float
    scores: str  # JSON object: theme -> probability
    themes: list[str]  # every theme over its threshold, primary first
    reason: str | None  # why the article was not scored ('language'), else None


# Articles with a vector for the model and no theme from that model (so a re-embed re-themes).
_UNTHEMED = """
    FROM embeddings e JOIN articles a USING (article_id)
    LEFT JOIN article_themes t USING (article_id)
    WHERE e.model = %(model)s AND (t.article_id IS NULL OR t.model IS DISTINCT FROM %(model)s)
"""


def count_unthemed(conn, model: str) -> int:
    return conn.execute("SELECT count(*) " + _UNTHEMED, {"model": model}).fetchone()[0]


def claim_unthemed(conn, model: str, limit: int) -> list[UnthemedArticle]:
    """Up to ``limit`` unthemed articles, by id, locked until the caller's transaction ends
    (``FOR NO KEY UPDATE ... SKIP LOCKED``): several theming tasks share one backlog, each
    article is scored by one of them. Call inside the transaction that writes the themes."""
    def claim():
        with conn.cursor(binary=True, row_factory=class_row(UnthemedArticle)) as cur:
            return cur.execute(
                "SELECT a.article_id, a.title, left(a.body_text, 4000) AS lead, a.language, e.embedding " + _UNTHEMED
                + " ORDER BY a.article_id LIMIT %(limit)s FOR NO KEY UPDATE OF a SKIP LOCKED",
                {"model": model, "limit": limit},
            ).fetchall()

    return claim_unfinished(conn, claim, "article_themes", model)


def write_themes(conn, model: str, rows: Sequence[ArticleTheme]) -> int:
    """COPY into a temp table, then upsert (articles deleted meanwhile are skipped)."""
    copy_temp(conn, "themes_in", [("article_id", "bigint"), ("theme", "text"), ("theme_score", "real"),
                                  ("scores", "jsonb"), ("themes", "text[]"), ("reason", "text")], rows)
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO article_themes (article_id, theme, theme_score, scores, themes, reason, model)
               SELECT i.article_id, i.theme, least(greatest(i.theme_score, 0), 1), i.scores, i.themes,
                      i.reason, %s
               FROM themes_in i JOIN articles a USING (article_id)
               ON CONFLICT (article_id) DO UPDATE SET theme = EXCLUDED.theme,
                   theme_score = EXCLUDED.theme_score, scores = EXCLUDED.scores, themes = EXCLUDED.themes,
                   reason = EXCLUDED.reason, model = EXCLUDED.model, assigned_at = now()""",
            (model,),
        )
        return cur.rowcount
