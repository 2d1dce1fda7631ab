"""Main text and metadata of an article page (trafilatura), decoding, language, fingerprints.

``extract_page`` is the unit of work of the extraction process pool: it takes the stored
(compressed) raw page and returns plain data, so it can run in another process. trafilatura
is not thread-safe (heap corruption seen with threads), hence processes, never threads.

Also ``clean_title`` (a title or byline for storage). Text cleaning itself is ``pipeline.text``;
walls (consent, paywall, JavaScript) are ``walls``, the lines above the first sentence
``boilerplate``, the language ``language``.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import zlib
from dataclasses import asdict
from datetime import date, datetime, time, timedelta, timezone

from pipeline.ingest.boilerplate import strip_lead
from pipeline.ingest.language import detect_language
from pipeline.ingest.walls import detect_wall
from pipeline.records import ExtractJob, Extracted
from pipeline.text import clean_text, one_line

__all__ = [
    "clean_title", "decode_html", "detect_language", "fingerprint", "simhash",
    "shingle_containment", "extract_page", "extract_payload", "warm_worker", "compress", "decompress", "MIN_WORDS",
]

MAX_TITLE_LENGTH = 500
MAX_AUTHOR_LENGTH = 300
MIN_WORDS = 20  # below this a page is a teaser, a paywall or a list, not an article
MAX_FUTURE = timedelta(days=1)
# No news page of interest is older; an earlier date is a parse error or a site's founding year,
# and one such date would make the stories stage load every story since then.
EARLIEST = datetime(1995, 1, 1, tzinfo=timezone.utc)


def clean_title(value: str | None, limit: int = MAX_TITLE_LENGTH) -> str | None:
    """One line, trimmed to ``limit`` characters at a word boundary (titles can be 100 KB)."""
    return one_line(value, limit) or None


def compress(body: bytes) -> bytes:
    return zlib.compress(body, 3)  # news HTML: level 3 is within 3 % of level 6's size, 1.5x faster


def decompress(blob: bytes) -> bytes:
    """zlib or gzip (pages the server sent gzipped are stored as received)."""
    return zlib.decompress(blob, wbits=47)


# --------------------------------------------------------------------------- decoding

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_\-:.]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_\-.]+)""", re.IGNORECASE)


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    # WHATWG: the latin-1 and ascii labels mean windows-1252 on the web.
    return "cp1252" if name in {"latin-1", "iso8859-1", "ascii"} else name


def decode_html(body: bytes, declared: str | None = None) -> tuple[str, str]:
    """(text, charset used). Valid UTF-8 wins (servers often mislabel UTF-8 as ISO-8859-1),
    then the header's charset, the page's <meta charset>, a detector, and windows-1252."""
    if body.startswith(codecs.BOM_UTF8):
        return body[3:].decode("utf-8", "replace"), "utf-8"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return body.decode("utf-16", "replace"), "utf-16"
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = [_codec(declared)]
    head = body[:4096]
    for pattern in (_META_CHARSET, _XML_ENCODING):
        match = pattern.search(head)
        if match:
            candidates.append(_codec(match.group(1).decode("ascii", "ignore")))
    for name in candidates:
        if name and name not in {"utf-8", "utf-16"}:
            try:
                return body.decode(name), name
            except (UnicodeDecodeError, LookupError):
                continue
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(body[:200_000]).best()
        if best is not None and best.encoding:
            return body.decode(best.encoding, "replace"), best.encoding
    except Exception:  # the detector is a nicety; windows-1252 below always works
        pass
    return body.decode("cp1252", "replace"), "cp1252"


# --------------------------------------------------------------------------- text signatures
# Computed per page here (in the worker); compared by pipeline.ingest.dedup.

_NORMALISE = re.compile(r"[\W_]+", re.UNICODE)


def _tokens(text: str) -> list[str]:
    return [t for t in _NORMALISE.split(text.lower()) if t]


def fingerprint(text: str) -> str:
    """Hash of the text with case, punctuation and spacing ignored: exact syndicated copies."""
    return hashlib.blake2b(" ".join(_tokens(text)).encode("utf-8"), digest_size=16).hexdigest()


def shingle_containment(a: str, b: str, shingle: int = 3) -> float:
    """Share of the shorter text's word 3-grams that also occur in the other text (0..1)."""
    def grams(text: str) -> set[str]:
        t = _tokens(text)
        return {" ".join(t[i : i + shingle]) for i in range(max(len(t) - shingle + 1, 1))}

    ga, gb = grams(a), grams(b)
    if not ga or not gb:
        return 0.0
    return len(ga & gb) / min(len(ga), len(gb))


def simhash(text: str, shingle: int = 3) -> int:
    """64-bit SimHash over word 3-grams, as a signed int (Postgres bigint). Copies with small
    edits (a different byline, an added sentence) differ in only a few bits."""
    import numpy as np

    tokens = _tokens(text)
    if len(tokens) < shingle:
        tokens = tokens + [""] * (shingle - len(tokens))
    digests = b"".join(
        hashlib.blake2b(" ".join(tokens[i : i + shingle]).encode("utf-8"), digest_size=8).digest()
        for i in range(len(tokens) - shingle + 1)
    )
    # One row of 64 bits per shingle (bit 0 = most significant); a bit is set in the result
    # when more shingles have it set than not.
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8)).reshape(-1, 64)
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - bits.shape[0]
    value = int.from_bytes(np.packbits(votes > 0).tobytes(), "big")
    return value - (1 << 64) if value >= 1 << 63 else value


# --------------------------------------------------------------------------- extraction


def _page_date(value: str | None) -> tuple[datetime | None, bool]:
    """(UTC datetime, has a time of day). htmldate gives a bare day as midnight without zone;
    that becomes noon UTC, which keeps it on the same calendar day in Europe and America."""
    if not value:
        return None, False
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value.strip()[:10]), time(0, 0))
        except ValueError:
            return None, False
    if parsed.tzinfo is None:
        if parsed.time() == time(0, 0):
            return parsed.replace(hour=12, tzinfo=timezone.utc), False
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc), True


def choose_published(
    page: datetime | None, feed: datetime | None, fetched_at: datetime, page_has_time: bool = True
) -> datetime:
    """The page's own timestamp; the feed's when the page gives only a day and the feed's time
    falls on (about) that day, or when the page gives none; else the fetch time. A date before
    1995 or more than a day after the fetch counts as none."""
    def plausible(value: datetime | None) -> datetime | None:
        return value if value is not None and EARLIEST <= value <= fetched_at + MAX_FUTURE else None

    page, feed = plausible(page), plausible(feed)
    if page and feed and not page_has_time and abs(page - feed) <= timedelta(hours=14):
        return feed
    return page or feed or fetched_at


_DATE_PARAMS = {
    "extensive_search": True, "original_date": True, "outputformat": "%Y-%m-%dT%H:%M:%S%z",
    "min_date": EARLIEST.strftime("%Y-%m-%d"),
}


def extract_page(job: ExtractJob) -> Extracted:
    """Decode, extract, and describe one stored page. Never raises for a bad page."""
    try:
        html, charset = decode_html(decompress(job.body_gz), job.charset)
    except (zlib.error, ValueError) as exc:
        return Extracted(job.article_id, "failed", f"stored page unreadable: {exc}")
    try:
        import trafilatura

        doc = trafilatura.bare_extraction(
            html,
            url=job.url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            date_extraction_params={**_DATE_PARAMS, "max_date": (job.fetched_at + MAX_FUTURE).strftime("%Y-%m-%d")},
        )
    except Exception as exc:  # trafilatura/lxml raise many types on hostile markup
        return Extracted(job.article_id, "failed", f"extractor error: {type(exc).__name__}: {exc}"[:500], charset=charset)
    if doc is None:
        return Extracted(job.article_id, "failed", "no main text found", charset=charset)
    data = doc if isinstance(doc, dict) else doc.as_dict()
    title = clean_title(data.get("title")) or job.feed_title
    text = clean_text(data.get("text"))
    wall = detect_wall(text)
    if wall.kind is not None:
        return Extracted(
            job.article_id, "blocked", f"{wall.kind} wall: {wall.wall_words} of {wall.total_words} words",
            title=title, charset=charset, block_reason=wall.kind,
        )
    text, byline_author = strip_lead(text, (data.get("title"), job.feed_title))
    words = len(text.split())
    if words < MIN_WORDS:
        return Extracted(
            job.article_id, "failed", f"main text too short ({words} words)", charset=charset,
            title=title, word_count=words,
        )
    page_date, has_time = _page_date(data.get("date"))
    published = choose_published(page_date, job.feed_published_at, job.fetched_at, has_time)
    return Extracted(
        job.article_id,
        "ok",
        title=title,
        author=clean_title(data.get("author") or byline_author, MAX_AUTHOR_LENGTH),
        site_name=clean_title(data.get("sitename"), 200),
        language=detect_language(text, job.feed_language),
        published_at=published,
        body_text=text,
        word_count=words,
        fingerprint=fingerprint(text),
        simhash=simhash(text),
        charset=charset,
    )


def warm_worker() -> None:
    """Process pool initializer: import trafilatura before the first page arrives (a no-op
    when the fork server preloaded it). Lives here so a worker never imports the fetch side."""
    import trafilatura  # noqa: F401

    detect_language("warm up the language model")


def extract_payload(job: ExtractJob) -> dict:
    """``extract_page`` as a plain dict (cheap to pickle back from a worker process)."""
    return asdict(extract_page(job))
