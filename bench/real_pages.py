"""Real web pages nobody here wrote, as an unseen theme set (issue 12: "real off-topic web pages
given any on-topic theme"). HTML extractors keep real pages from real sites as test fixtures, and
their source distributions on PyPI ship them: trafilatura's and htmldate's caches (mostly German
sites: blogs, ministries, shops, clubs, news), newspaper4k's articles (English news, and pages in
third languages) and a few documentation pages. The pages are not copied into this repository;
this script downloads the pinned sdists, runs each page through newsmon's own extraction
(`extract_page`, as the ingest stage does) and writes a labelled set that `bench/models.py
--unseen` reports like any other:

    .venv/bin/python bench/real_pages.py                 # -> bench/out/real_pages/real_pages.yaml
    .venv/bin/python bench/models.py --dev-only --skip-throughput \\
        --unseen bench/out/real_pages/real_pages.yaml
    .venv/bin/python bench/real_pages.py --dump DIR      # the extracted texts, for labelling

The labels (`bench/real_pages_labels.yaml`) were written by readers who saw only the extracted
texts, never a model's output. Nobody fits on these pages: they are a report, not an objective.
Pages whose extraction fails are counted, with the reason, and left out.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tarfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402

from pipeline.ingest.extract import compress, decompress, extract_page  # noqa: E402
from pipeline.records import ExtractJob  # noqa: E402

HERE = Path(__file__).resolve().parent
LABELS = HERE / "real_pages_labels.yaml"
OUT = HERE / "out" / "real_pages"
# (sdist, folder of pages inside it): pinned, so the set is the same for everyone
SOURCES = (
    ("trafilatura==1.0.0", "tests/cache/"),
    ("trafilatura==0.8.2", "tests/cache/"),
    ("htmldate==1.4.0", "tests/cache/"),
    ("newspaper4k==0.9.6", "tests/data/html/"),
    ("inscriptis==2.7.6", "tests/html/real-world/"),
    ("html_text==0.7.1", "tests/test_webpages/"),
)
FETCHED_AT = datetime(2026, 1, 1, tzinfo=timezone.utc)  # pages carry their own dates, if any


def download(spec: str, into: Path) -> Path:
    """The sdist of ``spec`` (cached in ``into``)."""
    name, version = spec.split("==")
    wanted = f"{name}-{version}.tar.gz".lower().replace("-", "_")
    for attempt in range(2):
        for path in into.glob("*.tar.gz"):
            if path.name.lower().replace("-", "_") == wanted:
                return path
        if not attempt:
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                            spec, "-d", str(into)], check=True)
    raise SystemExit(f"pip download {spec} gave no {wanted} in {into}")


def pages(cache: Path):
    """(id, html bytes) of every page, each page once: the first sdist that has a file name or a
    content wins (trafilatura re-saved some pages between versions)."""
    seen: set[str] = set()
    for spec, folder in SOURCES:
        with tarfile.open(download(spec, cache)) as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                inner = member.name.split("/", 1)[-1]
                if not (member.isfile() and inner.startswith(folder)
                        and inner.lower().endswith((".html", ".htm", ".html.gz"))):
                    continue
                body = tar.extractfile(member).read()
                if inner.lower().endswith(".gz"):
                    body = decompress(body)  # gzip, as the page store reads it
                page_id = f"{spec.split('==')[0]}:{inner[len(folder):]}"
                digest = hashlib.sha256(body).hexdigest()
                if digest in seen or page_id in seen:
                    continue
                seen.update((digest, page_id))
                yield page_id, body


def extract(page_id: str, body: bytes) -> dict:
    job = ExtractJob(article_id=0, url=f"https://example.invalid/{page_id}", body_gz=compress(body),
                     charset=None, feed_language=None, feed_title=None, feed_published_at=None,
                     fetched_at=FETCHED_AT)
    return vars(extract_page(job))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--dump", type=Path, metavar="DIR", help="write the extracted texts for labelling")
    ap.add_argument("--chunks", type=int, default=4, help="files to split --dump into")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sdists").mkdir(exist_ok=True)
    extracted, failed = [], Counter()
    for page_id, body in pages(args.out / "sdists"):
        data = extract(page_id, body)
        if data["status"] != "ok":
            failed[data["error"].split(" (")[0]] += 1
            continue
        extracted.append((page_id, data))
    print(f"{len(extracted) + sum(failed.values())} distinct pages; {len(extracted)} extracted; "
          + "; ".join(f"{n} {reason}" for reason, n in failed.most_common()))
    languages = Counter(d["language"] for _, d in extracted)
    print("languages: " + ", ".join(f"{k} {v}" for k, v in languages.most_common()))
    if args.dump:
        dump(extracted, args.dump, args.chunks)
        return
    labels = yaml.safe_load(LABELS.read_text(encoding="utf-8"))["pages"] if LABELS.is_file() else {}
    articles = [{
        "id": page_id, "story": None, "language": data["language"],
        "published_at": (data["published_at"] or FETCHED_AT).isoformat(), "source": page_id.split(":")[0],
        "theme": labels[page_id]["theme"], "alternatives": labels[page_id].get("alternatives") or [],
        "title": data["title"] or "", "body": data["body_text"],
    } for page_id, data in extracted if page_id in labels]
    unlabelled = [page_id for page_id, _ in extracted if page_id not in labels]
    path = args.out / "real_pages.yaml"
    path.write_text(yaml.safe_dump({"articles": articles}, allow_unicode=True, sort_keys=False), encoding="utf-8")
    themes = Counter(a["theme"] for a in articles)
    print(f"{len(articles)} labelled pages ({', '.join(f'{k} {v}' for k, v in themes.most_common())}) -> {path}"
          + (f"; {len(unlabelled)} without a label, left out: {', '.join(unlabelled[:5])}" if unlabelled else ""))


def dump(extracted, into: Path, chunks: int) -> None:
    into.mkdir(parents=True, exist_ok=True)
    size = -(-len(extracted) // chunks)
    for n in range(chunks):
        part = extracted[n * size:(n + 1) * size]
        text = "".join(f"=== {page_id}\nlanguage: {d['language']}\ntitle: {d['title']}\n\n"
                       f"{' '.join(d['body_text'].split()[:400])}\n\n" for page_id, d in part)
        (into / f"pages_{n + 1}.txt").write_text(text, encoding="utf-8")
    print(f"{len(extracted)} pages in {chunks} files under {into}")


if __name__ == "__main__":
    main()
