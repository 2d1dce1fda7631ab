"""How far a page's rel=canonical is trusted.

Sites get it wrong: some point every page's canonical at the home page, a section front or a
consent page, and with ``canonical_url`` unique every later article would collapse onto the
first one stored. So a canonical that points to the site's root or to a section page (path
depth 0 or 1 without a slug-like segment) is ignored here, and the page keeps its own URL (the
one it was served from). A canonical already held by an article served from another URL is
settled by ``pipeline.store.articles.store_pages``: the page is stored under its own URL, and if
its text is the same, the syndicated-copy marking (``dedup``) makes it a copy of that article.
The other way round (the page that took another's URL as its canonical was stored first),
``free_own_urls`` moves it to its own URL before that page is stored.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pipeline.infra.urls import canonical_url
from pipeline.records import PageToStore
from pipeline.store import articles as article_store

__all__ = ["is_section_url", "settle_canonical", "free_own_urls"]

# An article's path segment: a slug ("chip-export-rules"), an id ("a-12345", "4711.html"), a date.
_SLUG = re.compile(r"\d{3,}|[^\W\d_]+[-_][^\W\d_]+[-_]|\.s?html?$|^.{24,}$", re.UNICODE)


def is_section_url(url: str) -> bool:
    """True for a site's root or a section page: at most one path segment, and no slug in it."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if len(parts) >= 2:
        return False
    return not parts or not _SLUG.search(parts[0])


def settle_canonical(page: PageToStore) -> PageToStore:
    """Set ``own_url`` (the URL the page was served from, canonicalised) and drop a canonical
    that points to the root or a section page."""
    try:
        page.own_url = canonical_url(page.final_url)
    except ValueError:
        page.own_url = page.group.canonical_url
    if page.canonical_url != page.own_url and is_section_url(page.canonical_url):
        page.canonical_url = page.own_url
    return page


def free_own_urls(conn, pages: list[PageToStore]) -> int:
    """Articles stored under the URL of one of these pages (its own URL and its canonical) but
    served from another URL, which only their rel=canonical gave them, move to their own URL:
    the page of that URL is the article it names. Returns how many moved."""
    own = [p.canonical_url for p in pages if p.canonical_url == p.own_url]
    served = {p.canonical_url: p.final_url for p in pages}
    keys: dict[int, str] = {}
    for article_id, key, final_url in article_store.canonical_holders(conn, own):
        if not final_url or final_url == served.get(key):
            continue
        try:
            own_url = canonical_url(final_url)
        except ValueError:
            continue
        if own_url != key:
            keys[article_id] = own_url
    return article_store.rekey_articles(conn, keys)
