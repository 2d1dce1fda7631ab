"""Canonical URLs: one spelling per article, so the same story in two feeds is one row.

``canonical_url`` lower-cases scheme and host, drops the default port, the fragment, tracking
parameters and AMP markers, and sorts nothing else (parameter order can matter to a CMS).
Percent-escapes are normalised as RFC 3986 says: unreserved characters are decoded, every other
escape is kept (upper-cased), so ``%2F`` stays an escaped slash and never becomes a path separator.
``courlan`` (installed with trafilatura) was measured against these rules on the test URLs
(bench/urls_courlan.py) and lacks most of them (AMP variants, fragments, IDNA hosts, unreserved
escapes, and it sorts query parameters), so the rules stay here.
``safe_link`` cleans a link taken from a feed or page (relative, ``javascript:``, ``mailto:``).
``pick_canonical`` decides whether a page's ``<link rel=canonical>`` may replace the feed link.
"""

from __future__ import annotations

import functools
import re
import threading
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

__all__ = [
    "canonical_url", "safe_link", "link_problem", "MAX_URL_LENGTH", "same_site", "pick_canonical", "find_canonical_link", "site_key", "pick_source",
]

# Query parameters that identify a campaign or a click, never the content.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "ref_src", "ref_url", "cmpid", "cmp",
        "wt_mc", "wt.mc_id", "ito", "at_medium", "at_campaign", "at_custom1", "at_custom2",
        "ns_mchannel", "ns_source", "ns_campaign", "ns_linkname", "ns_fee", "spm",
        "utm", "xtor", "icid", "ocid",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "at_", "ga_", "hsa_", "oly_")
DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 9110 section 4.1 recommends supporting URLs of at least 8,000 octets; longer links are
# refused with a recorded reason (``link_problem``), never dropped silently.
MAX_URL_LENGTH = 8000
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _is_tracking(name: str, value: str) -> bool:
    low = name.lower()
    if low == "amp":  # ?amp, ?amp=1: the AMP rendering of the same page
        return value.lower() in {"", "1", "true"}
    if low == "outputtype":
        return value.lower() == "amp"
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def _strip_amp_path(path: str) -> str:
    # /story/amp, /story/amp/, /story.amp.html, /amp/story (common CMS AMP variants)
    if path.endswith("/amp") or path.endswith("/amp/"):
        path = path[: path.rstrip("/").rfind("/")] or "/"
    elif path.endswith(".amp.html"):
        path = path[: -len(".amp.html")] + ".html"
    elif path.endswith(".amp"):
        path = path[: -len(".amp")]
    elif path.startswith("/amp/"):
        path = path[len("/amp") :]
    return path


def _normalise_escapes(path: str) -> str:
    """Decode escaped unreserved characters (``%7E`` -> ``~``), upper-case the other escapes
    (``%2f`` -> ``%2F``, still escaped) and escape raw characters a path may not hold."""
    def one(match: re.Match) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return quote(_ESCAPE.sub(one, path), safe="/%:@!$&'()*+,;=~-._")


def canonical_url(url: str) -> str:
    """The canonical spelling of an http(s) URL. Raises ValueError for anything else."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"not an http(s) URL: {url[:200]!r}")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise ValueError(f"URL has no host: {url[:200]!r}")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = host.lower()
    port = parts.port  # raises ValueError for a bad port
    netloc = f"[{host}]" if ":" in host else host
    if port and port != DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    if host.startswith("amp.") and site_key(host) != host:
        netloc = netloc[4:]  # amp.example.com is the AMP edition of example.com; amp.dev is a site
    path = _strip_amp_path(_normalise_escapes(parts.path) or "/")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k, v)]
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def safe_link(link: str | None, base: str | None = None) -> str | None:
    """A cleaned absolute http(s) link, or None for javascript:/mailto:/data:/garbage."""
    return _checked_link(link, base)[0]


def link_problem(link: str | None, base: str | None = None) -> tuple[str, str] | None:
    """Why ``safe_link`` refuses a link: (kind, one-line reason), or None when it is usable.
    Kinds: ``empty``, ``url_too_long``, ``bad_url``, ``bad_scheme``."""
    return _checked_link(link, base)[1]


def _checked_link(link, base) -> tuple[str | None, tuple[str, str] | None]:
    if not link or not isinstance(link, str):
        return None, ("empty", "entry without a link")
    link = re.sub(r"[\x00-\x20\x7f]+", "", link) if "\n" in link or "\x00" in link else link.strip()
    if not link:
        return None, ("empty", "entry without a link")
    if len(link) > MAX_URL_LENGTH:
        return None, ("url_too_long", f"link of {len(link):,} characters exceeds the {MAX_URL_LENGTH:,} stored")
    try:
        absolute = urljoin(base, link) if base else link
        parts = urlsplit(absolute)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        return None, ("bad_url", f"malformed link ({exc})"[:300])
    if parts.scheme.lower() not in DEFAULT_PORTS:
        return None, ("bad_scheme", f"not an http(s) link (scheme {parts.scheme.lower()[:20] or 'none'!r})")
    if not parts.hostname:
        return None, ("bad_url", "link has no host")
    if len(absolute) > MAX_URL_LENGTH:
        return None, ("url_too_long", f"link of {len(absolute):,} characters exceeds the {MAX_URL_LENGTH:,} stored")
    return absolute, None


_TLD_LOCK = threading.Lock()
_tld_ready = False


def _get_fld(host: str) -> str | None:
    global _tld_ready
    from tld import get_fld

    if not _tld_ready:
        # tld loads the public suffix list lazily and not thread-safely: every thread that
        # arrives before the first load finishes would parse the whole list again.
        with _TLD_LOCK:
            get_fld("example.com", fix_protocol=True, fail_silently=True)
            _tld_ready = True
    return get_fld(host, fix_protocol=True, fail_silently=True)


@functools.lru_cache(maxsize=4096)
def site_key(host: str) -> str:
    """The registrable domain (eTLD+1) of a host, or the host itself (IPs, localhost)."""
    host = host.lower().rstrip(".")
    try:
        fld = _get_fld(host)
    except Exception:  # tld is a trafilatura dependency; fall back to the host if it misbehaves
        fld = None
    if fld:
        return fld
    labels = host.split(".")
    if len(labels) < 2 or labels[-1].isdigit() or ":" in host:
        return host  # an IP address or a single-label name
    return ".".join(labels[-2:])  # unknown suffix (.example, .internal): assume one label


def same_site(a: str, b: str) -> bool:
    """True when both URLs belong to one registrable domain (www., m., amp. don't matter)."""
    ha, hb = urlsplit(a).hostname or "", urlsplit(b).hostname or ""
    if not ha or not hb:
        return False
    return site_key(ha) == site_key(hb)


def _bare_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").rstrip(".")
    return host[4:] if host.startswith("www.") else host


def pick_source(article_url: str, feeds: "list[tuple[str, str]]") -> str | None:
    """The feed credited with an article, from (name, url) of every feed that links it:
    the feed on the article's own host wins (``www.`` ignored), then a feed of the same site
    (``rss.example.com`` for ``www.example.com``), then any; ties go to the smallest name.
    A function of the set of feeds only, so the fetch order never changes the answer."""
    host = _bare_host(article_url)

    def rank(feed: tuple[str, str]) -> tuple[int, str]:
        name, url = feed
        if host and _bare_host(url) == host:
            return 0, name
        return (1 if same_site(url, article_url) else 2), name

    return min(feeds, key=rank)[0] if feeds else None


_LINK_TAG = re.compile(rb"<link\b[^>]*>", re.IGNORECASE)
_REL_CANONICAL = re.compile(rb"""\brel\s*=\s*["']?\s*canonical\b""", re.IGNORECASE)
_HREF = re.compile(rb"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)


def find_canonical_link(body: bytes, page_url: str) -> str | None:
    """The absolute ``<link rel=canonical href>`` of an HTML page (only the head is scanned)."""
    head_end = _HEAD_END.search(body, 0, 512 * 1024)
    head = body[: head_end.start() if head_end else 256 * 1024]
    for tag in _LINK_TAG.finditer(head):
        if not _REL_CANONICAL.search(tag.group(0)):
            continue
        match = _HREF.search(tag.group(0))
        if not match:
            continue
        raw = next(g for g in match.groups() if g is not None)
        href = raw.decode("utf-8", "replace").replace("&amp;", "&")
        return safe_link(href, page_url)
    return None


def pick_canonical(feed_link: str, final_url: str, page_canonical: str | None) -> str:
    """The canonical URL of a fetched page: its rel=canonical when on the same site, else the
    URL it was finally served from (after redirects), canonicalised."""
    if page_canonical and same_site(page_canonical, final_url):
        try:
            return canonical_url(page_canonical)
        except ValueError:
            pass
    try:
        return canonical_url(final_url)
    except ValueError:
        return canonical_url(feed_link)
