"""courlan's normalize_url against newsmon's canonical_url on the URL test cases.

    .venv/bin/python bench/urls_courlan.py

Prints each case where the two differ and the count. newsmon keeps its own rules where
courlan lacks one (tests/unit/test_urls.py holds the expected spellings).
"""

from __future__ import annotations

from courlan import normalize_url

from pipeline.infra.urls import canonical_url

CASES = [
    "HTTPS://Example.COM:443/a/b?id=3#top", "http://example.com:80", "http://example.com:8080/x",
    "https://news.example/story?utm_source=rss&utm_medium=feed&id=7&fbclid=abc&gclid=1",
    "https://news.example/story?b=2&a=1", "https://news.example/story/amp", "https://news.example/story.amp.html",
    "https://news.example/story?amp=1", "https://amp.news.example/story", "https://news.example/%7Euser/caf%C3%A9",
    "https://bücher.example/x", "https://example.com/x?q=a%20b", "https://amp.dev/about", "https://x.example/a%2Fb/c",
    "https://m.example.com/x", "https://www.example.com/x?mc_cid=1&ito=2&xtor=3",
]


def main() -> None:
    differ = 0
    for url in CASES:
        ours, theirs = canonical_url(url), normalize_url(url)
        if ours != theirs:
            differ += 1
            print(f"{url}\n    newsmon: {ours}\n    courlan: {theirs}")
    print(f"{differ} of {len(CASES)} test URLs normalised differently")


if __name__ == "__main__":
    main()
