"""SQL per aggregate. Every write is idempotent (natural keys + ON CONFLICT); bulk writes
COPY into a temporary table first, then INSERT/UPDATE from it in one statement."""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

from psycopg import sql

__all__ = ["ARTICLE_TS", "COUNTED_ARTICLE", "claim_unfinished", "copy_temp"]

# SQL fragments over `articles a` shared by the digest and the alerts: an article belongs to the
# day of its publication time, or of its fetch time when the page gave no date (the same rule as
# analytics.theme_daily; indexed in 0005_digest.sql), and it counts once extracted, copies not.
ARTICLE_TS = "coalesce(a.published_at, a.fetched_at)"
COUNTED_ARTICLE = "a.extract_status = 'ok' AND a.duplicate_of IS NULL"


def copy_temp(conn, table: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence], *,
              binary_types: Sequence[str] | None = None) -> int:
    """Create ``table`` as a temporary table (dropped at commit) with ``columns`` ((name, type)
    pairs) and COPY ``rows`` into it. Returns the number of rows copied.

    A table of that name left by an earlier call in the same transaction is replaced, so a
    writer may be called several times before one commit. ``binary_types`` (the Postgres type
    of each column, e.g. ``["int8", "vector"]``) switches to binary COPY, for vectors."""
    conn.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(sql.Identifier(table)))
    conn.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            sql.Identifier(table),
            sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in columns),
        )
    )
    n = 0
    with conn.cursor() as cur:
        with cur.copy(
            sql.SQL("COPY {} ({}) FROM STDIN{}").format(
                sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(n) for n, _ in columns),
                sql.SQL(" WITH (FORMAT BINARY)" if binary_types else ""),
            )
        ) as copy:
            if binary_types:
                copy.set_types(list(binary_types))
            for row in rows:
                copy.write_row(row)
                n += 1
    return n


def claim_unfinished(conn, claim: Callable[[], list], table: str, model: str,
                     current: tuple[str, object] | None = None) -> list:
    """Run ``claim`` (a ``SKIP LOCKED`` claim of articles with no row in ``table`` for
    ``model``) until it gives rows no other task has finished meanwhile; [] when nothing is left.

    The row lock guards the article row, not the NOT EXISTS on the table the work is written
    to: a claim whose snapshot was taken just before another task committed a batch can lock
    those rows once that commit released them, and still see them as pending (measured: 128 of
    2,000 articles embedded twice by two tasks). Holding the locks, a new statement (a new
    snapshot in READ COMMITTED) sees every earlier claimer's committed rows, so those are
    dropped. ``table``: embeddings or article_themes; ``current``: (column, value) that a finished
    row also holds (a vector from another text length is not finished)."""
    query = sql.SQL("SELECT article_id FROM {} WHERE model = %s AND article_id = ANY(%s)").format(sql.Identifier(table))
    extra: tuple = ()
    if current is not None:
        query = sql.SQL("{} AND {} = %s").format(query, sql.Identifier(current[0]))
        extra = (current[1],)
    while True:
        rows = claim()
        if not rows:
            return rows
        done = {row[0] for row in conn.execute(query, (model, [r.article_id for r in rows], *extra))}
        rows = [r for r in rows if r.article_id not in done]
        if rows or not done:
            return rows
