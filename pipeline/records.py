"""Plain records handed between the stages and storage: no logic, no SQL.

A stage builds them from what it fetched or computed and hands them to ``pipeline.store``;
the store returns them from its queries. Living here (not in a stage, not in the store)
lets both sides use them without either importing the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

__all__ = [
    "FeedSpec", "FeedEntry", "FeedRow", "FeedLink", "PendingGroup", "PageToStore", "EntryOutcome", "StoredPage",
    "PagesStored", "RefusedEntry",
    "ExtractJob", "Extracted", "ArticleSignature", "ArticleText",
]

# --------------------------------------------------------------------------- feeds


@dataclass(frozen=True)
class FeedSpec:
    """One entry of the feed list file."""

    name: str
    url: str
    language: str
    tags: tuple[str, ...] = ()
    enabled: bool = True


@dataclass
class FeedEntry:
    """One item of a fetched feed, with a cleaned absolute link."""

    entry_key: str
    link: str
    canonical_url: str
    title: str | None
    summary: str | None
    published_at: datetime | None


@dataclass(frozen=True)
class FeedRow:
    """A stored feed with its conditional-GET state."""

    feed_id: int
    name: str
    url: str
    language: str
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    # not in backoff at the moment ``get_feeds`` was asked about (its ``now``)
    due: bool = True


# --------------------------------------------------------------------------- pages


@dataclass
class PendingGroup:
    """All pending entries that point at one canonical URL: one page fetch serves them all."""

    canonical_url: str
    link: str
    feed_name: str
    feed_language: str
    title: str | None
    published_at: datetime | None
    entries: list[tuple[int, str]] = field(default_factory=list)  # (feed_id, entry_key)


@dataclass
class PageToStore:
    """A fetched article page, stored raw (compressed) with its article row."""

    group: PendingGroup
    canonical_url: str  # after redirects and rel=canonical
    final_url: str
    http_status: int
    fetched_at: datetime
    content_type: str | None
    charset: str | None
    body_gz: bytes
    size_bytes: int
    own_url: str | None = None  # final_url canonicalised: the key when canonical_url is not trusted


@dataclass
class EntryOutcome:
    """A page fetch that stored nothing. ``status``: retry (transient), deferred (never sent),
    failed or skipped (permanent). ``kind``: the problem in one word (``robots``, ``too_large``,
    ``timeout``, ``http_503`` ...), what analytics.fetch_problems groups by."""

    group: PendingGroup
    status: str
    error: str
    kind: str | None = None


@dataclass(frozen=True)
class RefusedEntry:
    """A feed entry whose link cannot be fetched (too long, not http(s), malformed): recorded
    with its reason as a skipped entry, never dropped silently."""

    entry_key: str
    link: str
    kind: str
    reason: str
    title: str | None


class StoredPage(NamedTuple):
    """A page that became a new article row (to be extracted)."""

    article_id: int
    page: PageToStore


class PagesStored(NamedTuple):
    """What storing a batch of pages did."""

    new: list[StoredPage]
    linked_article_ids: list[int]  # the article of each entry linked (new or already stored)


class FeedLink(NamedTuple):
    """A feed that links an article: what the article's ``source`` is decided from."""

    article_id: int
    canonical_url: str
    source: str | None
    feed_name: str
    feed_url: str | None


# --------------------------------------------------------------------------- extraction


@dataclass
class ExtractJob:
    """One stored raw page and its feed context: the unit of work of an extraction process."""

    article_id: int
    url: str
    body_gz: bytes
    charset: str | None
    feed_language: str | None
    feed_title: str | None
    feed_published_at: datetime | None
    fetched_at: datetime
    attempts: int = 1  # extraction attempts of this page, this one included


@dataclass
class Extracted:
    """What extraction found on a page (``status`` ok), why it found nothing (failed), or the
    wall the page showed instead of an article (blocked, with ``block_reason``)."""

    article_id: int
    status: str  # ok | failed | blocked
    error: str | None = None
    title: str | None = None
    author: str | None = None
    site_name: str | None = None
    language: str | None = None
    published_at: datetime | None = None
    body_text: str | None = None
    word_count: int | None = None
    fingerprint: str | None = None
    simhash: int | None = None
    charset: str | None = None
    block_reason: str | None = None  # consent | paywall | javascript


# --------------------------------------------------------------------------- duplicates


class ArticleSignature(NamedTuple):
    """What picks the candidates for syndicated copies of an extracted article."""

    article_id: int
    simhash: int
    word_count: int | None
    fingerprint: str | None
    fetched_at: datetime


class ArticleText(NamedTuple):
    """What decides whether a candidate is a copy, and which original it already points at."""

    article_id: int
    body_text: str | None
    fingerprint: str | None
    duplicate_of: int | None
