"""A tiny news site for the DAG tests: two feeds (German, English) and four article pages,
served by the test HTTP server on 127.0.0.1. Published on 2026-11-26 (Europe/Berlin)."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from pathlib import Path

from tests.support.httpserver import LocalServer, Response

DAY = "2026-11-26"


@dataclass(frozen=True)
class Article:
    slug: str
    language: str
    title: str
    published: str  # RFC 3339
    paragraphs: tuple[str, ...]


ARTICLES = (
    Article(
        "en/export-rules-chip-tools", "en", "US tightens export rules on chip-making tools",
        "2026-11-26T09:00:00+00:00",
        (
            "The United States has tightened its export rules for advanced chip-making tools, "
            "adding lithography and etching equipment to the list of items that need a licence "
            "before they can be shipped to Chinese semiconductor factories.",
            "Industry groups said the new controls on semiconductor equipment would hit Dutch and "
            "Japanese suppliers as well, because the rules also cover tools that contain American "
            "components. Several chip makers said they were reviewing their orders.",
            "Officials in Washington argued that the sanctions close loopholes that allowed "
            "Chinese foundries to buy older lithography machines and upgrade them. Beijing called "
            "the export controls an attack on free trade and promised countermeasures.",
        ),
    ),
    Article(
        "de/exportregeln-chip-werkzeuge", "de", "USA verschärfen Exportregeln für Chip-Werkzeuge",
        "2026-11-26T10:00:00+01:00",
        (
            "Die Vereinigten Staaten haben ihre Exportregeln für moderne Werkzeuge zur "
            "Chip-Herstellung verschärft. Lithografie- und Ätzanlagen dürfen nur noch mit Lizenz "
            "an chinesische Halbleiterfabriken geliefert werden.",
            "Branchenverbände erwarten, dass die neuen Kontrollen auch niederländische und "
            "japanische Zulieferer treffen, weil sie Anlagen mit amerikanischen Bauteilen "
            "erfassen. Mehrere Chiphersteller prüfen nun ihre Bestellungen.",
            "Washington begründet die Sanktionen damit, dass chinesische Fabriken bisher ältere "
            "Lithografiemaschinen kaufen und aufrüsten konnten. Peking kritisierte die "
            "Exportkontrollen scharf und kündigte Gegenmaßnahmen an.",
        ),
    ),
    Article(
        "en/open-model-downloads", "en", "Open-weight language models pass a billion downloads",
        "2026-11-26T11:30:00+00:00",
        (
            "Open-weight language models published on public model hubs have passed one billion "
            "downloads this year, according to figures compiled by developers of open source "
            "machine learning tools.",
            "Chinese open source models such as Qwen and DeepSeek account for a growing share of "
            "the downloads, and their licences allow companies to fine-tune and deploy them "
            "without paying fees. Researchers said the open releases speed up experiments.",
            "Critics warn that open model weights cannot be recalled once published, while "
            "supporters argue that open source development makes artificial intelligence more "
            "transparent and easier to audit.",
        ),
    ),
    Article(
        "de/selbstversorgung-halbleiter", "de", "Peking will 70 Prozent Selbstversorgung bei Chips bis 2028",
        "2026-11-26T14:00:00+01:00",
        (
            "China will bis 2028 einen Selbstversorgungsgrad von 70 Prozent bei Halbleitern "
            "erreichen. Das geht aus einem Plan des Industrieministeriums hervor, der am "
            "Mittwoch in Peking vorgestellt wurde.",
            "Der Staat fördert dafür heimische Chipfabriken und Hersteller von Lithografieanlagen "
            "mit Milliardenbeträgen. Fachleute bezweifeln, dass das Ziel ohne Zugang zu "
            "westlichen Werkzeugen erreichbar ist, weil die Exportkontrollen streng bleiben.",
            "Bisher liegt der Anteil heimisch gefertigter Chips nach Schätzungen von Analysten "
            "deutlich niedriger. Die Regierung setzt deshalb auf Subventionen und Steuervorteile.",
        ),
    ),
)


def page_html(article: Article) -> str:
    body = "".join(f"<p>{escape(p)}</p>" for p in article.paragraphs)
    return f"""<!doctype html><html lang="{article.language}"><head><meta charset="utf-8">
<title>{escape(article.title)} - Test Courier</title>
<meta property="article:published_time" content="{article.published}">
<meta property="og:site_name" content="Test Courier"></head>
<body><header><nav><a href="/">Home</a></nav></header>
<article><h1>{escape(article.title)}</h1><p class="byline">By A. Reporter</p>{body}</article>
<footer>© Test Courier</footer></body></html>"""


def rss(base: str, articles: list[Article]) -> str:
    from email.utils import format_datetime
    from datetime import datetime

    items = "".join(
        f"<item><guid isPermaLink='false'>{a.slug}</guid><title>{escape(a.title)}</title>"
        f"<link>{base}/{a.slug}</link>"
        f"<pubDate>{format_datetime(datetime.fromisoformat(a.published))}</pubDate>"
        f"<description>{escape(a.paragraphs[0][:120])}</description></item>"
        for a in articles
    )
    return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Test Courier</title>"
            f"<link>{base}/</link><description>test</description>{items}</channel></rss>")


def serve(server: LocalServer, folder: Path) -> Path:
    """Route the site; write and return a feed list file for it."""
    server.route("/robots.txt", Response(200, "User-agent: *\nAllow: /\n", {"Content-Type": "text/plain"}))
    for a in ARTICLES:
        server.route(f"/{a.slug}", Response(200, page_html(a), {"Content-Type": "text/html; charset=utf-8"}))
    lines = []
    for lang in ("en", "de"):
        path = f"/feeds/{lang}.xml"
        server.route(path, Response(200, rss(server.base, [a for a in ARTICLES if a.language == lang]),
                                    {"Content-Type": "application/rss+xml"}))
        lines += [f"- name: courier-{lang}", f"  url: {server.url(path)}", f"  language: {lang}"]
    folder.mkdir(parents=True, exist_ok=True)
    feeds = folder / "feeds.yaml"
    feeds.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return feeds
