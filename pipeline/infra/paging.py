"""Keyset paging over a table that a stage works through while it writes.

Each page is read on its own short connection, so no connection or snapshot stays open while
the caller works on a page, and the next page starts after the last id seen (stable while
rows are written or deleted meanwhile, unlike OFFSET).
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence, TypeVar

Row = TypeVar("Row")


def pages_by_article_id(pool, fetch: Callable[..., Sequence[Row]], page_size: int, **params,
                        ) -> Iterator[Sequence[Row]]:
    """Pages of ``fetch(conn, after_id=..., limit=page_size, **params)``, whose rows have an
    ``article_id`` and come in ascending article_id order, until one comes back empty."""
    after_id = 0
    while True:
        with pool.connection() as conn:
            page = fetch(conn, after_id=after_id, limit=page_size, **params)
        if not page:
            return
        yield page
        after_id = page[-1].article_id
