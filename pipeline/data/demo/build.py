"""Render the demo corpus (``articles.py``) into ``site/`` and ``feeds.yaml``.

Run ``python pipeline/data/demo/build.py`` after editing the texts; the output is committed,
so ``newsmon demo`` needs nothing but a static file server. Each outlet has its own
boilerplate (navigation, cookie banner, related links, footer), as real news sites do;
Rheinischer Bote serves ISO-8859-1, Northern Dispatch links carry tracking parameters that
the pages' ``rel=canonical`` resolves, Valley Wire syndicates one story and re-links another.
"""

from __future__ import annotations

import html
import importlib.util
import shutil
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SITE = HERE / "site"

_spec = importlib.util.spec_from_file_location("demo_articles", HERE / "articles.py")
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
OUTLETS, ARTICLES, SYNDICATED, ALSO = _mod.OUTLETS, _mod.ARTICLES, _mod.SYNDICATED, _mod.ALSO_IN_VALLEY_FEED

FEED_PATHS = {
    "harbour": "harbour/feed.xml",
    "dispatch": "dispatch/atom.xml",
    "bote": "bote/rss.xml",
    "technik": "technikblatt/feed.atom",
    "valley": "valley/rss.xml",
}
TRACKING = {"dispatch": "?utm_source=rss&utm_medium=feed&utm_campaign=newsmon"}


def e(text: str) -> str:
    return html.escape(text, quote=True)


def when(a: dict) -> datetime:
    return datetime.fromisoformat(a["date"].replace("Z", "+00:00"))


def url_path(a: dict) -> str:
    return f"/{OUTLETS[a['outlet']]['path']}/{a['slug']}.html"


def related(a: dict, items: list[dict]) -> list[dict]:
    same = [x for x in items if x["outlet"] == a["outlet"] and x["slug"] != a["slug"]]
    return same[:3]


def page_harbour(a, items):
    rel = "".join(f'<li><a href="{url_path(r)}">{e(r["title"])}</a></li>' for r in related(a, items))
    paras = "".join(f"<p>{e(p)}</p>\n" for p in a["body"])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(a['title'])} | The Harbour Ledger</title>
<link rel="canonical" href="{url_path(a)}">
<meta property="og:site_name" content="The Harbour Ledger">
<meta property="og:title" content="{e(a['title'])}">
<meta name="author" content="{e(a['author'])}">
<meta property="article:published_time" content="{a['date']}">
<link rel="stylesheet" href="/harbour/static/site.css">
</head><body>
<header class="masthead"><a class="logo" href="/harbour/">The Harbour Ledger</a>
<nav><a href="/harbour/world">World</a> <a href="/harbour/business">Business</a> <a href="/harbour/tech">Technology</a> <a href="/harbour/opinion">Opinion</a> <a href="/harbour/subscribe">Subscribe</a></nav></header>
<div id="cookie-consent" role="dialog">We use cookies and similar technologies to personalise content and measure traffic. <button>Accept all</button> <button>Reject</button> <a href="/harbour/privacy">Privacy settings</a></div>
<main><article>
<h1>{e(a['title'])}</h1>
<p class="byline">By {e(a['author'])} &middot; <time datetime="{a['date']}">{when(a):%d %B %Y}</time></p>
{paras}</article>
<aside class="related"><h2>Related stories</h2><ul>{rel}</ul></aside>
<section class="newsletter">Get the Ledger briefing in your inbox every morning. <a href="/harbour/newsletter">Sign up</a></section>
</main>
<footer><p>&copy; 2026 The Harbour Ledger Ltd. <a href="/harbour/terms">Terms</a> &middot; <a href="/harbour/privacy">Privacy</a> &middot; <a href="/harbour/contact">Contact us</a></p></footer>
</body></html>
"""


def page_dispatch(a, items):
    rel = "".join(f'<a class="card" href="{url_path(r)}">{e(r["title"])}</a>' for r in related(a, items))
    paras = "".join(f"<p>{e(p)}</p>\n" for p in a["body"])
    return f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8">
<title>{e(a['title'])} - Northern Dispatch</title>
<link rel="canonical" href="{url_path(a)}">
<meta property="og:site_name" content="Northern Dispatch">
<meta property="article:published_time" content="{a['date']}">
</head><body>
<div class="topbar"><a href="/dispatch/">Northern Dispatch</a> <span>Independent news since 1911</span> <a href="/dispatch/login">Sign in</a></div>
<nav class="sections"><a href="/dispatch/news">News</a> | <a href="/dispatch/science">Science</a> | <a href="/dispatch/sport">Sport</a> | <a href="/dispatch/culture">Culture</a></nav>
<section class="gdpr-banner">Your privacy matters to us. We and our 143 partners store and access information on your device. <button>I agree</button> <button>Manage options</button></section>
<div class="article-wrapper"><article>
<h1 class="headline">{e(a['title'])}</h1>
<div class="meta">{e(a['author'])}, {when(a):%A %d %B %Y %H:%M} GMT</div>
{paras}<div class="share">Share this article: <a href="#">Email</a> <a href="#">Copy link</a></div>
</article></div>
<div class="read-next"><h3>Read next</h3>{rel}</div>
<footer class="site-footer"><ul><li><a href="/dispatch/about">About us</a></li><li><a href="/dispatch/careers">Careers</a></li><li><a href="/dispatch/advertise">Advertise</a></li></ul><p>Northern Dispatch &copy; 2026</p></footer>
</body></html>
"""


def page_bote(a, items):
    rel = "".join(f'<li><a href="{url_path(r)}">{e(r["title"])}</a></li>' for r in related(a, items))
    paras = "".join(f"<p>{e(p)}</p>\n" for p in a["body"])
    return f"""<!DOCTYPE html>
<html lang="de"><head><meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">
<title>{e(a['title'])} - Rheinischer Bote</title>
<link rel="canonical" href="{url_path(a)}">
<meta name="author" content="{e(a['author'])}">
<meta name="date" content="{a['date']}">
<meta property="og:site_name" content="Rheinischer Bote">
</head><body>
<div class="kopf"><a href="/bote/">Rheinischer Bote</a> <span>Die Zeitung für das Rheinland</span></div>
<nav><a href="/bote/">Startseite</a> · <a href="/bote/politik">Politik</a> · <a href="/bote/wirtschaft">Wirtschaft</a> · <a href="/bote/lokales">Lokales</a> · <a href="/bote/sport">Sport</a> · <a href="/bote/abo">Abo</a></nav>
<div class="cookie-hinweis">Wir verwenden Cookies, um Ihnen ein optimales Nutzungserlebnis zu bieten. <button>Alle akzeptieren</button> <a href="/bote/datenschutz">Einstellungen</a></div>
<article class="artikel">
<h1>{e(a['title'])}</h1>
<p class="autor">Von {e(a['author'])} | {when(a):%d.%m.%Y, %H:%M} Uhr</p>
{paras}</article>
<div class="empfehlungen"><h3>Das könnte Sie auch interessieren</h3><ul>{rel}</ul></div>
<div class="abo-box">Jetzt vier Wochen lang alle Artikel lesen – für 0,99 Euro. <a href="/bote/abo">Zum Angebot</a></div>
<footer>© 2026 Rheinischer Bote Verlag GmbH · <a href="/bote/impressum">Impressum</a> · <a href="/bote/datenschutz">Datenschutz</a> · <a href="/bote/agb">AGB</a></footer>
</body></html>
"""


def page_technik(a, items):
    rel = "".join(f'<li><a href="{url_path(r)}">{e(r["title"])}</a></li>' for r in related(a, items))
    paras = "".join(f"<p>{e(p)}</p>\n" for p in a["body"])
    return f"""<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8">
<title>{e(a['title'])} | Technikblatt</title>
<link rel="canonical" href="{url_path(a)}">
<meta property="og:site_name" content="Technikblatt">
<meta property="article:published_time" content="{a['date']}">
<meta name="author" content="{e(a['author'])}">
</head><body>
<header><a href="/technikblatt/" class="logo">Technikblatt</a><nav><a href="/technikblatt/news">News</a> <a href="/technikblatt/tests">Tests</a> <a href="/technikblatt/ratgeber">Ratgeber</a> <a href="/technikblatt/forum">Forum</a></nav></header>
<div class="consent-layer">Technikblatt finanziert sich durch Werbung. Mit „Zustimmen“ erlauben Sie uns und unseren Partnern die Nutzung von Cookies. <button>Zustimmen</button> <a href="/technikblatt/pur">Werbefrei lesen</a></div>
<main><article>
<h1>{e(a['title'])}</h1>
<div class="artikel-meta">{e(a['author'])} · {when(a):%d.%m.%Y}</div>
{paras}</article>
<aside><h4>Mehr zum Thema</h4><ul>{rel}</ul></aside>
<div class="forum-teaser"><a href="/technikblatt/forum">Kommentare lesen (12)</a></div></main>
<footer>Technikblatt · <a href="/technikblatt/impressum">Impressum</a> · <a href="/technikblatt/datenschutz">Datenschutz</a> · <a href="/technikblatt/kontakt">Kontakt</a></footer>
</body></html>
"""


def page_valley(a, items):
    paras = "".join(f"<p>{e(p)}</p>\n" for p in a["body"])
    credit = "<p><em>This story first appeared in The Harbour Ledger and is republished with permission.</em></p>\n" if a.get("copy_of") else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{e(a['title'])} - Valley Wire</title>
<meta property="og:site_name" content="Valley Wire">
<meta property="article:published_time" content="{a['date']}">
</head><body>
<div class="bar"><a href="/valley/">Valley Wire</a> <a href="/valley/local">Local</a> <a href="/valley/weather">Weather</a> <a href="/valley/login">Log in</a></div>
<div class="consent">This site uses cookies. By continuing to browse you agree to our use of cookies. <a href="/valley/cookies">Find out more</a></div>
<div class="story">
<h1>{e(a['title'])}</h1>
<p class="by">{e(a['author'])}</p>
{credit}{paras}</div>
<div class="more"><b>More from Valley Wire</b> <a href="/valley/local/council-budget.html">Council approves budget</a> <a href="/valley/weather/weekend.html">Weekend outlook</a></div>
<footer>Valley Wire &middot; All rights reserved &middot; <a href="/valley/terms">Terms</a></footer>
</body></html>
"""


RENDER = {"harbour": page_harbour, "dispatch": page_dispatch, "bote": page_bote, "technik": page_technik, "valley": page_valley}


def link_suffix(outlet: str, a: dict) -> str:
    if outlet != a["outlet"]:  # a link to another outlet's story: an aggregator's click tracking
        return "?utm_source=valleywire&amp;fbclid=demo123"
    return TRACKING.get(outlet, "").replace("&", "&amp;")


def rss(outlet: str, items: list[dict], base: str = "{base}") -> str:
    o = OUTLETS[outlet]
    body = "".join(
        f"""<item><title>{e(a['title'])}</title><link>{base}{url_path(a)}{link_suffix(outlet, a)}</link>
<guid isPermaLink="false">{outlet}-{a['slug']}</guid><pubDate>{format_datetime(when(a), usegmt=True)}</pubDate>
<description>{e(a['body'][0][:200])}</description></item>
"""
        for a in items
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{e(o['name'])}</title><link>{base}/{outlet}/</link>
<description>Latest news from {e(o['name'])}</description><language>{o['lang']}</language>
{body}</channel></rss>
"""


def atom(outlet: str, items: list[dict], base: str = "{base}") -> str:
    o = OUTLETS[outlet]
    latest = max(when(a) for a in items).isoformat().replace("+00:00", "Z")
    body = "".join(
        f"""<entry><title>{e(a['title'])}</title><link rel="alternate" href="{base}{url_path(a)}{link_suffix(outlet, a)}"/>
<id>tag:{outlet}.example,2026:{a['slug']}</id><updated>{a['date']}</updated><published>{a['date']}</published>
<author><name>{e(a['author'])}</name></author><summary>{e(a['body'][0][:200])}</summary></entry>
"""
        for a in items
    )
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{o['lang']}"><title>{e(o['name'])}</title>
<id>tag:{outlet}.example,2026:feed</id><updated>{latest}</updated>
{body}</feed>
"""


def build() -> None:
    for old in SITE.glob("*") if SITE.exists() else []:
        if old.is_dir() and old.name != "_api":  # _api/: hand-written offline API stand-ins
            shutil.rmtree(old)
    by_slug = {a["slug"]: a for a in ARTICLES}
    syndicated = {**SYNDICATED, "body": by_slug[SYNDICATED["copy_of"]]["body"]}
    pages = ARTICLES + [syndicated]
    for a in pages:
        path = SITE / url_path(a).lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        text = RENDER[a["outlet"]](a, ARTICLES)
        charset = OUTLETS[a["outlet"]].get("charset", "utf-8")
        path.write_bytes(text.encode(charset, "xmlcharrefreplace"))
    feeds_yaml = ["# Demo feeds: {base} is replaced by the local server's address (pipeline/demo.py).\n"]
    for outlet, feed_path in FEED_PATHS.items():
        items = sorted((a for a in pages if a["outlet"] == outlet), key=when, reverse=True)
        if outlet == "valley":
            items = sorted(items + [by_slug[ALSO]], key=when, reverse=True)
        feed = SITE / feed_path
        feed.parent.mkdir(parents=True, exist_ok=True)
        render = rss if OUTLETS[outlet]["feed"] == "rss" else atom
        # Item links are root-relative (the server's port is only known at run time); the
        # ingest resolves them against the feed's URL, as it must for real feeds too.
        feed.write_text(render(outlet, items, base=""), encoding="utf-8")
        o = OUTLETS[outlet]
        feeds_yaml.append(
            f"- name: {o['name']}\n  url: \"{{base}}/{feed_path}\"\n  language: {o['lang']}\n  tags: [demo, {outlet}]\n"
        )
    (HERE / "feeds.yaml").write_text("".join(feeds_yaml), encoding="utf-8")
    print(f"wrote {len(pages)} pages and {len(FEED_PATHS)} feeds to {SITE}")


if __name__ == "__main__":
    build()
