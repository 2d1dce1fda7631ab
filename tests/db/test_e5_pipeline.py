"""multilingual-e5-small through the pipeline on the real embedded Postgres: its 384-dim vectors
are stored under its own model id, the first themes run calibrates it with the per-model
machinery (on a small slice of the dev set here, to keep the test short), and themes and
stories then run on its own calibration: a German/English report of one event become one story."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline import calibrate
from pipeline.embed.encoders import E5_MODEL, load_encoder
from pipeline.embed.stage import run_embed
from pipeline.labelled import dev_articles
from pipeline.stages import run_stage
from pipeline.store import calibration as calibration_store
from pipeline.themes import calibrate as themes_calibrate
from pipeline.themes import exemplars
from tests.db.test_calibration import ARTICLES, T0
from tests.support.newsdata import insert_article

PAIR = [  # one event, two languages
    ("nl_en", "en", "Netherlands widens export licence rule for ASML chip machines to China",
     "The Dutch government said ASML needs an export licence for more of its deep ultraviolet "
     "lithography systems before shipping them to Chinese chipmakers, in step with US controls."),
    ("nl_de", "de", "Niederlande weiten Exportgenehmigung für ASML-Chipmaschinen nach China aus",
     "Die niederländische Regierung verlangt von ASML eine Exportlizenz für weitere DUV-Lithografiesysteme, "
     "bevor sie an chinesische Chiphersteller geliefert werden, im Einklang mit den US-Kontrollen."),
]


@pytest.fixture(scope="module")
def e5():
    return load_encoder(E5_MODEL, fallback=False)


def _dev_slice(per_theme: int = 8):
    """A few dev articles of each theme: enough for the fit to run, quick to encode with E5."""
    picked: dict[str, list] = {}
    for article in dev_articles():
        if len(picked.setdefault(article.theme, [])) < per_theme:
            picked[article.theme].append(article)
    return [a for group in picked.values() for a in group]


def test_e5_is_calibrated_on_first_use_and_runs_themes_and_stories(runtime, e5, monkeypatch):
    dev = _dev_slice()
    monkeypatch.setattr(calibrate, "dev_articles", lambda: dev)
    monkeypatch.setattr(calibrate, "story_dev_articles", lambda: dev)
    # the theme set is the slice too: its E5 vectors are encoded here (the shipped ones are of the
    # whole set, so their digest does not match), as for any model that ships none
    monkeypatch.setattr(themes_calibrate, "theme_set", lambda: (tuple(dev), "e5-slice"))
    monkeypatch.setattr(exemplars, "theme_set", lambda: (tuple(dev), "e5-slice"))
    monkeypatch.setattr(calibrate, "shipped_calibration", lambda model: None)  # nothing shipped for E5
    monkeypatch.setattr(themes_calibrate, "shipped_calibration", lambda model: None)
    with runtime.pool.connection() as conn:
        ids = {key: insert_article(conn, key=key, title=title, body=body, language=lang,
                                   published_at=T0 + timedelta(hours=i))
               for i, (key, lang, title, body) in enumerate(ARTICLES + PAIR)}
        conn.commit()
    run_embed(runtime, encoder=e5)
    with runtime.pool.connection() as conn:
        assert calibration_store.load(conn, E5_MODEL) is None
        stored_vectors = conn.execute("SELECT model, vector_dims(embedding::vector), count(*) FROM embeddings "
                                      "GROUP BY 1, 2").fetchall()
    assert stored_vectors == [(E5_MODEL, 384, len(ids))]

    themes = run_stage(runtime, "themes", encoder=e5)
    assert themes.counts["assigned"] == len(ids)
    stories = run_stage(runtime, "stories", until=T0 + timedelta(days=1))
    with runtime.pool.connection() as conn:
        stored = calibration_store.load(conn, E5_MODEL)
        theme = dict(conn.execute("SELECT article_id, theme FROM analytics.articles"))
        story = dict(conn.execute("SELECT article_id, story_id FROM analytics.articles WHERE story_id IS NOT NULL"))
    assert stored.themes and stored.stories  # calibrated for E5 itself, not borrowed from USE
    assert stored.themes["exemplars"] == "e5-slice"
    assert stored.stories["join_threshold"] != pytest.approx(0.0)
    assert theme[ids["phone"]] == "other" and theme[ids["fr"]] == "other"
    assert theme[ids["sanc"]] == "sanctions" and theme[ids["nl_en"]] in {"sanctions", "chips"}
    assert stories.counts and story[ids["nl_en"]] == story[ids["nl_de"]]
    assert story[ids["nl_en"]] != story[ids["phone"]]
