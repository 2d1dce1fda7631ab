"""Feed list loading (``load_feed_list``) and feed parsing (``parse_feed``, feedparser).

The list is a YAML list of ``{name, url, language, tags?, enabled?}``; anything else is a
``FeedListError`` naming the entry. ``parse_feed`` turns a fetched body into entries with
cleaned absolute links, a stable entry key and a publication time that is not in the future.
"""

from __future__ import annotations

import calendar
import html
import io
import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.infra.config import UserError
from pipeline.infra.urls import MAX_URL_LENGTH, canonical_url, link_problem, safe_link
from pipeline.ingest.extract import clean_title
from pipeline.records import FeedEntry, FeedSpec, RefusedEntry
from pipeline.text import clean_text

__all__ = [
    "FeedListCheck", "FeedListError", "FeedParseError", "ParsedFeed", "check_feed_list", "load_feed_list", "parse_feed",
    "valid_host", "LANGUAGES",
]

LANGUAGES = ("de", "en")
ALLOWED_KEYS = ("name", "url", "language", "tags", "enabled")
MAX_NAME_LENGTH = 100
MAX_ENTRY_KEY_LENGTH = 1000
MAX_SUMMARY_LENGTH = 4000
MAX_FUTURE = timedelta(days=1)


class FeedListError(UserError):
    """The feed list file is missing or malformed; the message names the entry."""


class FeedParseError(Exception):
    """A fetched body is not a usable feed (HTML page, broken XML without entries)."""


def _entry_label(index: int, raw) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return f"entry {index}" + (f" ({name!r})" if isinstance(name, str) and name.strip() else "")


def _read_entries(path: Path) -> list:
    """The file's entries (not yet validated); FeedListError when the file itself is unusable."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FeedListError(f"{path}: feed list not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FeedListError(f"{path}: cannot read feed list ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise FeedListError(f"{path}: not valid YAML{where}") from None
    if isinstance(data, dict) and set(data) == {"feeds"}:
        data = data["feeds"]
    if not isinstance(data, list):
        raise FeedListError(f"{path}: expected a YAML list of feeds, got {type(data).__name__}")
    return data


@dataclass(frozen=True)
class FeedListCheck:
    """Every valid feed of a list, and one line per problem (each naming its entry)."""

    feeds: list[FeedSpec]
    problems: list[str]


def check_feed_list(path: str | Path) -> FeedListCheck:
    """Validate every entry of a feed list file and report all problems, not just the first."""
    path = Path(path)
    feeds: list[FeedSpec] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(_read_entries(path), start=1):
        try:
            feeds.append(_feed_from_entry(path, index, raw, seen))
        except FeedListError as exc:
            problems.append(str(exc))
    return FeedListCheck(feeds, problems)


def load_feed_list(path: str | Path) -> list[FeedSpec]:
    """Read and validate a feed list file; raises FeedListError with one line naming the entry."""
    result = check_feed_list(path)
    if result.problems:
        more = len(result.problems) - 1
        suffix = f" (and {more} more problem(s): newsmon feeds check {path})" if more else ""
        raise FeedListError(result.problems[0] + suffix)
    return result.feeds


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def valid_host(host: str | None) -> bool:
    """A DNS name (IDNA allowed) or an IP address: no spaces, no empty labels, labels <= 63."""
    if not host:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return len(ascii_host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def _feed_from_entry(path: Path, index: int, raw, seen: dict[str, int]) -> FeedSpec:
    label = _entry_label(index, raw)
    if not isinstance(raw, dict):
        raise FeedListError(f"{path}: {label}: expected a mapping with name, url, language")
    unknown = [str(k) for k in raw if k not in ALLOWED_KEYS]
    if unknown:
        raise FeedListError(
            f"{path}: {label}: unknown key {unknown[0]!r} (allowed: {', '.join(ALLOWED_KEYS)})"
        )
    for key in ("name", "url", "language"):
        if raw.get(key) in (None, ""):
            raise FeedListError(f"{path}: {label}: missing {key!r}")
    name = raw["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise FeedListError(f"{path}: {label}: name must be a non-empty string of at most {MAX_NAME_LENGTH} characters")
    name = name.strip()
    if name in seen:
        raise FeedListError(f"{path}: {label}: duplicate name {name!r} (first used by entry {seen[name]})")
    seen[name] = index
    url = raw["url"]
    link = safe_link(url) if isinstance(url, str) else None
    if link is None or link != url.strip():
        raise FeedListError(f"{path}: {label}: url must be an absolute http(s) URL, got {str(url)[:200]!r}")
    if not valid_host(urlsplit(link).hostname):
        raise FeedListError(f"{path}: {label}: url has an invalid host name, got {str(url)[:200]!r}")
    language = str(raw["language"]).strip().lower()
    if language not in LANGUAGES:
        raise FeedListError(f"{path}: {label}: language must be one of {', '.join(LANGUAGES)}, got {raw['language']!r}")
    tags = raw.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise FeedListError(f"{path}: {label}: tags must be a list of strings")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise FeedListError(f"{path}: {label}: enabled must be true or false, got {enabled!r}")
    return FeedSpec(name, link, language, tuple(t for t in tags if t), enabled)




# --------------------------------------------------------------------------- parsing


@dataclass
class ParsedFeed:
    title: str | None
    entries: list[FeedEntry]
    warning: str | None  # feedparser's bozo message when the feed was recoverably malformed
    skipped: int = 0  # entries without a usable link (each one in ``refused`` with its reason)
    refused: list[RefusedEntry] = field(default_factory=list)


_TAG = re.compile(r"<[^>]+>")
_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.IGNORECASE | re.DOTALL)
_FEED_START = re.compile(rb"<(?:rss|feed|rdf:RDF|channel)\b", re.IGNORECASE)


def _html_to_text(value: str) -> str:
    return html.unescape(_TAG.sub(" ", value))


def _looks_like_html(body: bytes) -> bool:
    head = body[:4096].lstrip(b"\xef\xbb\xbf")
    return bool(_HTML_START.match(head)) and not _FEED_START.search(body[:65536])


def _entry_key(raw_key: str) -> str:
    """The entry's key, at most MAX_ENTRY_KEY_LENGTH characters: a longer one (a long link used
    as key) keeps its start and gets a digest of the whole, so two long links stay apart."""
    if len(raw_key) <= MAX_ENTRY_KEY_LENGTH:
        return raw_key
    import hashlib

    digest = hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{raw_key[:MAX_ENTRY_KEY_LENGTH - 65]}#{digest}"


def _entry_time(entry, now: datetime) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                when = datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
            except (OverflowError, ValueError, TypeError):
                continue
            return when if when <= now + MAX_FUTURE else None
    return None


def parse_feed(body: bytes, url: str, *, content_type: str | None = None, now: datetime | None = None) -> ParsedFeed:
    """Entries of an RSS 0.9x/1.0/2.0 or Atom document. Raises FeedParseError when the body is
    an HTML page or XML so broken that no entry could be recovered."""
    import feedparser

    now = now or datetime.now(timezone.utc)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # A stream, never a str: feedparser would fetch a str that looks like a URL by itself.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=True)
    warning = None
    exc = parsed.get("bozo_exception")
    # A missing/odd content-type or an overridden charset is noise, not a malformed feed.
    benign = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
    if parsed.get("bozo") and not isinstance(exc, benign):
        warning = clean_text(f"{type(exc).__name__}: {exc}")[:500] if exc else "malformed feed"
    if not parsed.entries:
        if _looks_like_html(body):
            raise FeedParseError("expected a feed, got an HTML page")
        if warning or not parsed.get("version"):
            raise FeedParseError(f"not a feed: broken XML ({warning or 'no RSS/Atom root element'})")
    entries: list[FeedEntry] = []
    keys: set[str] = set()
    refused: list[RefusedEntry] = []
    skipped = 0
    for raw in parsed.entries:
        link = None
        candidates = [raw.get("link")] + [l.get("href") for l in raw.get("links", []) if l.get("rel") == "alternate"]
        for candidate in candidates:
            link = safe_link(candidate, url)
            if link:
                break
        problem = None
        if not link:
            problem = link_problem(next((c for c in candidates if c), None), url)
        else:
            try:
                canon = canonical_url(link)
            except ValueError as exc:
                problem = ("bad_url", f"malformed link ({exc})"[:300])
        raw_key = clean_text(str(raw.get("id") or raw.get("guid") or link or next((c for c in candidates if c), "")))
        key = _entry_key(raw_key)
        title = raw.get("title") or ""
        if (raw.get("title_detail") or {}).get("type") in ("text/html", "application/xhtml+xml"):
            title = _html_to_text(title)
        if problem is not None:
            if key and key not in keys:  # an entry with neither link nor id cannot be told apart: counted only
                keys.add(key)
                bad = clean_text(str(next((c for c in candidates if c), "")))[:MAX_URL_LENGTH]  # kept, cut
                refused.append(RefusedEntry(key, bad or "(no link)", problem[0], problem[1], clean_title(title)))
            skipped += 1
            continue
        if key in keys:
            continue
        keys.add(key)
        summary = clean_text(_html_to_text(raw.get("summary") or ""))[:MAX_SUMMARY_LENGTH] or None
        entries.append(FeedEntry(key, link, canon, clean_title(title), summary, _entry_time(raw, now)))
    title = clean_title(parsed.feed.get("title")) if parsed.get("feed") else None
    return ParsedFeed(title, entries, warning, skipped, refused)
