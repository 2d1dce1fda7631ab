"""bench/models.py: which held-out sets `--all-unseen` reports on; bench/errors.py: what `--errors` lists."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from types import SimpleNamespace

from pipeline.labelled import DEV_DIR, DEV_FILES, MEASURED_LAST_ROUND, LabelledArticle
from tests.support.bench import bench_module


models, errors = bench_module("models"), bench_module("errors")


def test_all_unseen_reads_every_measured_held_out_set_in_the_order_written():
    files = models.unseen_files()
    shipped = {p.name for p in DEV_DIR.glob("articles_unseen_*.yaml")}
    fresh = {name for name in shipped if int(re.match(r"articles_unseen_r(\d+)", name)[1]) > MEASURED_LAST_ROUND}
    assert {p.name for p in files} == shipped - fresh  # the sets kept fresh for the next change are never read
    assert f"articles_unseen_r{MEASURED_LAST_ROUND}a.yaml" in shipped - fresh
    assert not {p.name for p in files} & {p.name for p in DEV_FILES}  # a dev file is never reported as held out
    names = [p.stem.removeprefix("articles_unseen_") for p in files]
    rounds = [int(re.match(r"r(\d+)", name)[1]) for name in names]
    assert rounds == sorted(rounds)  # by round number: r9b before r10a, which a text sort gets wrong
    assert names.index("r9b") < names.index("r10a") and names[0] == "r6b"
    assert names == sorted(names, key=lambda n: (int(re.match(r"r(\d+)", n)[1]), n))


def _article(id_, story, theme="chips", alternatives=(), language="en", day=1):
    return LabelledArticle(id=id_, story=story, language=language, published_at=datetime(2026, 3, day, tzinfo=timezone.utc),
                           source="wire", theme=theme, alternatives=alternatives, title=f"title of {id_}", body="")


def test_errors_lists_wrong_themes_joined_events_and_split_events():
    articles = [_article("a1", "ev-a"), _article("a2", "ev-a", language="de"), _article("b1", "ev-b", day=2),
                _article("c1", "ev-c", theme="sanctions", alternatives=("chips",)), _article("c2", "ev-c", theme="other")]
    assigned = [SimpleNamespace(theme=t) for t in ("chips", "other", "chips", "chips", "other")]
    wrong = errors.theme_errors(articles, assigned)
    assert wrong == ["    theme chips -> other: a2 (de) title of a2"]  # c1's chips is an acceptable alternative
    # a1 and b1 in one story (two events); ev-a's German report on its own; ev-c right
    lines = errors.story_errors(articles, [0, 1, 0, 2, 2])
    assert lines[0] == "    joined in one story: 2 events"
    assert [line.split()[0] for line in lines[1:3]] == ["ev-a", "ev-b"]
    assert len(lines) == 4 and lines[3].startswith("    split over 2 stories: ev-a: en: title of a1 || de: title of a2")
    assert errors.story_errors(articles, ["x", "x", "y", "z", "z"]) == []
