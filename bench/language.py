"""Language identification: py3langid (now) against the stop-word detector it replaced.

    .venv/bin/python bench/language.py

On the 354 labelled articles (tests/resources/labelled/*.yaml, 174 de, 180 en): bodies and
titles alone, each with no feed language, with the right one and with the wrong one (de<->en)
as the fallback. The old detector is kept here only as the baseline.
"""

from __future__ import annotations

import re

import yaml

from pipeline.ingest.language import detect_language

FILES = [f"tests/resources/labelled/{n}.yaml" for n in ("articles", "articles_dev", "articles_test")]
_STOPWORDS = {
    "de": frozenset(
        "der die das und ist nicht ein eine einen einem einer eines mit von den dem des zu auf für "
        "sich im auch als es an wie bei nach aus wird werden wurde sind hat haben noch um über "
        "oder aber vor zum zur bis durch mehr nur so kann soll sagte dass diese dieser dieses "
        "sein seine ihre ihr er sie wir uns am vom schon wenn weil gegen unter zwischen sowie".split()),
    "en": frozenset(
        "the and of to in is that for it on with as was at by be this are from has have had "
        "not but or an its their which will would said were been they he she we who more than "
        "also after about into over can could new one two his her there what when all out up "
        "than so if our other while such these those".split()),
}
_OTHER = frozenset(
    "le la les des est une dans pour pas sur qui que du au aux avec sont ce il elle nous "
    "el los las del por una con para es su al lo como más pero sus "
    "il di che non per una sono della nel alla gli "
    "het een van en ik je dat niet zijn op te voor met".split())
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)


def stopword_language(text: str, fallback: str | None = None) -> str:
    """The detector before py3langid (pipeline/ingest/extract.py until issue 15)."""
    words = [w.lower() for w in _WORD.findall(text[:20000])]
    if len(words) < 8:
        return fallback or "other"
    de = sum(1 for w in words if w in _STOPWORDS["de"])
    en = sum(1 for w in words if w in _STOPWORDS["en"])
    other = sum(1 for w in words if w in _OTHER)
    best, score = ("de", de) if de >= en else ("en", en)
    if score / len(words) < 0.08 or other > score:
        return "other" if len(words) >= 40 or other > score else (fallback or "other")
    if score < 1.5 * min(de, en) and fallback in ("de", "en"):
        return fallback
    return best


def main() -> None:
    articles = [a for f in FILES for a in yaml.safe_load(open(f, encoding="utf-8"))["articles"]]
    for field in ("body", "title"):
        for case in ("none", "right", "wrong"):
            old = new = 0
            for a in articles:
                fallback = {"none": None, "right": a["language"], "wrong": "de" if a["language"] == "en" else "en"}[case]
                old += stopword_language(a[field], fallback) == a["language"]
                new += detect_language(a[field], fallback) == a["language"]
            print(f"{field:5} feed language {case:5}: stop words {old}/{len(articles)}, py3langid {new}/{len(articles)}")


if __name__ == "__main__":
    main()
