"""Calibration per model and multi-label themes on the real embedded Postgres: the first themes
run calibrates the active model, every theme over the threshold is stored with one primary, a
third-language article gets no theme (reason 'language'), calibration files move between
databases and a file for another model is refused naming both."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from pipeline import calibrate
from pipeline.embed.stage import run_embed
from pipeline.infra.config import UserError
from pipeline.stages import run_stage
from pipeline.store import calibration as calibration_store
from pipeline.themes.calibrate import CalibrationError
from pipeline.themes.stage import run_themes
from tests.support.newsdata import insert_article, use_encoder  # noqa: F401

T0 = datetime(2025, 6, 2, 9, tzinfo=timezone.utc)
ARTICLES = [  # (key, language, title, body)
    ("sanc", "en", "EU sanctions package targets chip re-exports to Russia",
     "The European Union agreed a sanctions package that bans the re-export of semiconductors and "
     "chipmaking equipment to Russia through third countries. Exporters need a licence for dual-use chips."),
    ("fab", "de", "Neue Chipfabrik in Dresden: Halbleiterwerk soll 2027 produzieren",
     "Der Bund fördert das Halbleiterwerk mit Milliarden. Die Fabrik soll Chips für die Autoindustrie "
     "in Europa fertigen und die Abhängigkeit von Taiwan verringern."),
    ("phone", "en", "New phone review: faster chip, better battery",
     "The latest smartphone has a faster chip and a brighter screen. Battery life improved by two hours "
     "in our review, and the price stays the same."),
    ("fr", "other", "Nvidia suspend ses livraisons de puces vers la Chine",
     "Le fabricant américain de puces a suspendu les livraisons de ses processeurs vers la Chine après "
     "les nouvelles règles d'exportation décidées à Washington."),
]


@pytest.fixture
def themed(runtime, use_encoder):  # noqa: F811
    with runtime.pool.connection() as conn:
        ids = {key: insert_article(conn, key=key, title=title, body=body, language=lang,
                                   published_at=T0 + timedelta(hours=i))
               for i, (key, lang, title, body) in enumerate(ARTICLES)}
        conn.commit()
    run_embed(runtime, encoder=use_encoder)
    return ids, run_themes(runtime, encoder=use_encoder)


def test_first_themes_run_calibrates_and_stores_all_themes(runtime, themed, use_encoder):  # noqa: F811
    ids, result = themed
    assert result.counts["assigned"] == len(ARTICLES) and result.counts["unscored_language"] == 1
    with runtime.pool.connection() as conn:
        stored = calibration_store.load(conn, use_encoder.name)
        rows = {aid: (theme, themes, reason) for aid, theme, themes, reason in conn.execute(
            "SELECT article_id, theme, themes, theme_reason FROM analytics.articles")}
        daily = dict(conn.execute("SELECT theme, sum(article_count) FROM analytics.theme_daily GROUP BY 1"))
    assert stored is not None and set(stored.themes) == {"weights", "bias", "threshold", "taxonomy", "exemplars"}
    assert stored.dev_figures["themes"]["accuracy"] >= 0.97  # in-sample on the theme set
    assert rows[ids["sanc"]][0] == "sanctions" and rows[ids["sanc"]][1][0] == "sanctions"
    assert rows[ids["fab"]][:2] == ("chips", ["chips"]) and rows[ids["fab"]][2] is None
    assert rows[ids["phone"]] == ("other", [], None)
    assert rows[ids["fr"]] == ("other", [], "language")
    assert daily == {"sanctions": 1, "chips": 1, "other": 2}  # each article once, under its primary theme


def test_export_import_and_refusal_of_another_models_file(runtime, themed, use_encoder, tmp_path):  # noqa: F811
    path = tmp_path / "calibration.json"
    assert use_encoder.name in calibrate.export_calibration(runtime, path)
    data = json.loads(path.read_text())
    assert data["model"] == use_encoder.name and "themes" in data["params"]

    data["params"]["themes"]["threshold"] = 0.6
    path.write_text(json.dumps(data))
    calibrate.import_calibration(runtime, path)
    with runtime.pool.connection() as conn:
        assert calibration_store.load(conn, use_encoder.name).themes["threshold"] == 0.6

    data["model"] = "some-org/another-model"
    path.write_text(json.dumps(data))
    with pytest.raises(UserError) as err:
        calibrate.import_calibration(runtime, path)
    assert "some-org/another-model" in str(err.value) and use_encoder.name in str(err.value)
    path.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        calibrate.import_calibration(runtime, path)


def test_uncalibrated_model_without_any_calibration_is_refused(runtime, use_encoder, monkeypatch):  # noqa: F811
    with runtime.pool.connection() as conn:
        insert_article(conn, key="x", title="Chip export controls", body="New rules.", language="en",
                       published_at=T0)
        conn.commit()
    run_embed(runtime, encoder=use_encoder)
    monkeypatch.setattr(calibrate, "dev_articles", lambda: [])  # an install without the dev half
    monkeypatch.setattr(calibrate, "shipped_calibration", lambda model: None)  # and nothing shipped
    with pytest.raises(CalibrationError) as err:
        run_stage(runtime, "themes", encoder=use_encoder)
    message = str(err.value)
    assert use_encoder.name in message and "--import" in message and "\n" not in message
    with runtime.pool.connection() as conn:
        assert calibration_store.load(conn, use_encoder.name) is None
        assert conn.execute("SELECT count(*) FROM article_themes").fetchone()[0] == 0


class CountingEncoder:
    """The model, counting how often each text reaches it."""

    def __init__(self, inner):
        self.inner, self.name, self.dims, self.backend = inner, inner.name, inner.dims, inner.backend
        self.texts: Counter = Counter()

    def encode(self, texts):
        self.texts.update(texts)
        return self.inner.encode(texts)


def test_calibrate_command_fits_both_parts(runtime, use_encoder):  # noqa: F811
    with runtime.pool.connection() as conn:
        insert_article(conn, key="y", title="Chip export controls", body="New rules.", language="en",
                       published_at=T0)
        conn.commit()
    run_embed(runtime, encoder=use_encoder)
    counting = CountingEncoder(use_encoder)
    result = calibrate.calibrate(runtime, encoder=counting)
    assert result.model == use_encoder.name and "themes" in result.fitted
    assert "accuracy" in result.summary()
    # the story fit encodes most of the theme fit's articles again: each text reaches the model once
    assert counting.texts and max(counting.texts.values()) == 1
    with runtime.pool.connection() as conn:
        stored = calibration_store.load(conn, use_encoder.name)
    assert stored.themes and (stored.stories or result.notes)
    assert calibrate.ensure_calibrated(runtime, encoder=use_encoder) is None  # nothing missing any more


def test_stored_calibration_with_other_evidence_is_replaced(runtime, use_encoder):  # noqa: F811
    """A calibration stored by an older newsmon weighs other evidence (no `spread`): the themes
    stage replaces it instead of failing, and keeps the stories' part."""
    from pipeline.themes.scorer import FEATURES

    with runtime.pool.connection() as conn:
        insert_article(conn, key="z", title="US adds Chinese chipmakers to the Entity List",
                       body="Exporters need a licence.", language="en", published_at=T0)
        calibration_store.save(conn, use_encoder.name, {
            "themes": {"weights": {"margin": 8.0, "keywords": 8.0, "negative": -1.0},
                       "bias": {"chips": -5.0, "open_source": -5.0, "sanctions": -5.0}, "threshold": 0.4,
                       "taxonomy": "old"},
            "stories": {"join_threshold": 0.61, "merge_threshold": 0.7}}, {})
        conn.commit()
    run_embed(runtime, encoder=use_encoder)
    result = run_themes(runtime, encoder=use_encoder)
    assert result.counts["assigned"] == 1
    with runtime.pool.connection() as conn:
        stored = calibration_store.load(conn, use_encoder.name)
    assert set(stored.themes["weights"]) == set(FEATURES) and stored.stories["join_threshold"] == 0.61


def test_shipped_calibration_of_an_older_format_is_refitted_on_a_new_database(runtime, use_encoder, tmp_path,
                                                                             monkeypatch):  # noqa: F811
    """A shipped file whose theme weights lack a feature (an older format) does not stop the first
    themes run of a new database: the themes are fitted on the development set instead."""
    from pipeline.themes import calibrate as themes_calibrate
    from pipeline.themes.scorer import FEATURES

    (tmp_path / f"{use_encoder.name}.json").write_text(json.dumps({
        "format": themes_calibrate.FILE_FORMAT, "model": use_encoder.name,
        "params": {"themes": {"weights": {"margin": 8.0, "keywords": 8.0, "negative": -1.0},
                              "bias": {"chips": -5.0}, "threshold": 0.4, "taxonomy": "old"}},
        "dev_figures": {}}))
    monkeypatch.setattr(themes_calibrate, "SHIPPED_DIR", tmp_path)
    with runtime.pool.connection() as conn:
        insert_article(conn, key="w", title="US adds Chinese chipmakers to the Entity List",
                       body="Exporters need a licence.", language="en", published_at=T0)
        conn.commit()
    run_embed(runtime, encoder=use_encoder)
    assert run_themes(runtime, encoder=use_encoder).counts["assigned"] == 1
    with runtime.pool.connection() as conn:
        stored = calibration_store.load(conn, use_encoder.name)
    assert set(stored.themes["weights"]) == set(FEATURES)


def test_concurrent_first_use_calibrates_once(runtime, use_encoder, monkeypatch):  # noqa: F811
    """The mapped embedding tasks start together on an uncalibrated model: one fits, the other
    waits on the calibration lock and then finds the calibration stored."""
    import threading

    with runtime.pool.connection() as conn:
        insert_article(conn, key="w", title="Chip export controls", body="New rules.", language="en",
                       published_at=T0)
        conn.commit()
    run_embed(runtime, encoder=use_encoder)
    monkeypatch.setattr(calibrate, "shipped_calibration", lambda model: None)
    fits, release = [], threading.Event()

    def fake_fit(rt, parts, encoder=None):
        fits.append(parts)
        assert release.wait(60)
        with rt.pool.connection() as conn, conn.transaction():
            calibration_store.save(conn, use_encoder.name, {"themes": {"w": 1}, "stories": {"join_threshold": 0.6}}, {})
        return calibrate.CalibrateResult(use_encoder.name, list(parts))

    monkeypatch.setattr(calibrate, "calibrate", fake_fit)
    results = [None, None]

    def call(i):
        results[i] = calibrate.ensure_calibrated(runtime, encoder=use_encoder)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    with runtime.pool.connection() as conn:  # the first caller holds the lock and is fitting
        for _ in range(600):
            if fits:
                break
            threading.Event().wait(0.1)
        second = threading.Thread(target=call, args=(1,))
        second.start()
        for _ in range(600):  # ... the second one waits on it
            waiting = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[0]
            conn.commit()
            if waiting:
                break
            threading.Event().wait(0.1)
    assert waiting == 1 and len(fits) == 1
    release.set()
    first.join(60)
    second.join(60)
    assert len(fits) == 1 and results[0] is not None and results[1] is None


def test_story_calibration_of_an_older_fit_is_used_with_one_warning(runtime, use_encoder, caplog):  # noqa: F811
    """A database upgraded from an older newsmon (before 0.8.0: no fit number; 0.8.x: fit 2) keeps
    its stored story thresholds (they are the operator's until refitted) and the stories stage
    says once that `newsmon calibrate` refits them."""
    from pipeline.stories import stage as stories_stage
    from pipeline.stories.calibrate import STORY_FIT

    stories_stage._WARNED_OLDER_FIT.discard(use_encoder.name)
    old = {"join_threshold": 0.6, "merge_threshold": 0.7, "lexical_weight": 1.0, "time_weight": 0.2}
    with runtime.pool.connection() as conn:
        calibration_store.save(conn, use_encoder.name, {"stories": old}, {})
        conn.commit()
        with caplog.at_level("WARNING", logger="pipeline.stories.stage"):
            params = [stories_stage.story_params_for(conn, use_encoder.name) for _ in range(2)]
    assert params[0].join_threshold == 0.6 and params[0].time_weight == 0.2
    warnings = [r.getMessage() for r in caplog.records if "older newsmon" in r.getMessage()]
    assert len(warnings) == 1 and use_encoder.name in warnings[0] and "newsmon calibrate" in warnings[0]

    caplog.clear()
    stories_stage._WARNED_OLDER_FIT.discard(use_encoder.name)
    with runtime.pool.connection() as conn:
        calibration_store.save(conn, use_encoder.name, {"stories": {**old, "fit": 2}}, {})  # 0.8.x
        conn.commit()
        with caplog.at_level("WARNING", logger="pipeline.stories.stage"):
            stories_stage.story_params_for(conn, use_encoder.name)
    warnings = [r.getMessage() for r in caplog.records if "older newsmon" in r.getMessage()]
    assert len(warnings) == 1 and "fit 2" in warnings[0]

    caplog.clear()
    stories_stage._WARNED_OLDER_FIT.discard(use_encoder.name)
    with runtime.pool.connection() as conn:
        calibration_store.save(conn, use_encoder.name, {"stories": {**old, "fit": STORY_FIT}}, {})
        conn.commit()
        with caplog.at_level("WARNING", logger="pipeline.stories.stage"):
            stories_stage.story_params_for(conn, use_encoder.name)
    assert not [r for r in caplog.records if "older newsmon" in r.getMessage()]


class UnbundledEncoder(CountingEncoder):
    """USE under another name: a model newsmon ships no calibration and no exemplars for."""

    def __init__(self, inner):
        super().__init__(inner)
        self.name = "unbundled-test-model"


def test_a_model_without_shipped_exemplars_encodes_them_once_into_the_database(runtime, use_encoder,  # noqa: F811
                                                                               monkeypatch):
    """The first themes run of such a model encodes the labelled theme set, fits on it and stores
    the vectors; a later worker reads them from the database without encoding; a changed set is
    encoded again and replaces them (its digest no longer matches)."""
    from pipeline.labelled import dev_articles
    from pipeline.themes import calibrate as themes_calibrate
    from pipeline.themes import exemplars

    small, per_theme = [], Counter()
    for article in dev_articles():  # 30 of each theme: enough for a fit, cheap to encode
        per_theme[article.theme] += 1
        if per_theme[article.theme] <= 30:
            small.append(article)
    small = tuple(small)
    monkeypatch.setattr(exemplars, "theme_set", lambda: (small, "small-set"))
    monkeypatch.setattr(themes_calibrate, "theme_set", lambda: (small, "small-set"))
    with runtime.pool.connection() as conn:
        insert_article(conn, key="e", title="US adds Chinese chipmakers to the Entity List",
                       body="Exporters need a licence.", language="en", published_at=T0)
        conn.commit()
    first = UnbundledEncoder(use_encoder)
    run_embed(runtime, encoder=first)
    assert run_themes(runtime, encoder=first).counts["assigned"] == 1
    assert len(first.texts) >= len(small)  # the set (and the article) reached the model once
    with runtime.pool.connection() as conn:
        stored = calibration_store.load_exemplars(conn, first.name)
        calibration = calibration_store.load(conn, first.name)
    assert exemplars.from_bytes(stored, first.name).digest == "small-set"
    assert calibration.themes["exemplars"] == "small-set"

    later = UnbundledEncoder(use_encoder)  # another worker: reads, never encodes
    found = exemplars.exemplars_for(runtime.pool, later)
    assert found.source == "stored" and len(found.articles) == len(small) and not later.texts

    monkeypatch.setattr(exemplars, "theme_set", lambda: (small[:-1], "small-set-2"))
    changed = UnbundledEncoder(use_encoder)
    assert exemplars.exemplars_for(runtime.pool, changed).source == "encoded" and len(changed.texts) >= len(small) - 1
    with runtime.pool.connection() as conn:
        assert exemplars.from_bytes(calibration_store.load_exemplars(conn, first.name), first.name).digest == "small-set-2"


def test_without_the_labelled_files_no_empty_exemplar_set_is_stored(runtime, use_encoder, monkeypatch):  # noqa: F811
    """An install without the labelled files has no theme set: nothing is encoded into the
    database for a model that ships none (the themes refuse with their own line instead)."""
    from pipeline.themes import exemplars

    monkeypatch.setattr(exemplars, "theme_set", lambda: ((), ""))
    bare = UnbundledEncoder(use_encoder)
    found = exemplars.exemplars_for(runtime.pool, bare)
    assert found.source == "encoded" and not found.articles
    with runtime.pool.connection() as conn:
        assert calibration_store.load_exemplars(conn, bare.name) is None
        assert conn.execute("SELECT count(*) FROM theme_exemplars").fetchone()[0] == 0


def test_an_upgrade_replaces_outdated_parts_by_the_shipped_calibration(runtime, use_encoder, tmp_path,  # noqa: F811
                                                                      monkeypatch, caplog):
    """A database upgraded from 0.9.5 holds a calibration fitted on vectors of another text (600
    characters): other exemplars, story fit 4. Before the next themes or stories run, each such
    part gives way to the one shipped with this version, with one warning; a part newsmon ships
    nothing newer for stays the operator's."""
    from pipeline.stories.calibrate import STORY_FIT
    from pipeline.themes import calibrate as themes_calibrate

    shipped = themes_calibrate.shipped_calibration(use_encoder.name)
    older = {"themes": {**shipped["params"]["themes"], "exemplars": "0123456789ab"},
             "stories": {**shipped["params"]["stories"], "join_threshold": 0.61, "fit": STORY_FIT - 1}}
    with runtime.pool.connection() as conn:
        insert_article(conn, key="u", title="Chip export controls", body="New rules.", language="en",
                       published_at=T0)
        calibration_store.save(conn, use_encoder.name, older, {})
        conn.commit()
    run_embed(runtime, encoder=use_encoder)

    monkeypatch.setattr(themes_calibrate, "SHIPPED_DIR", tmp_path)  # nothing shipped: nothing replaced
    assert calibrate.ensure_calibrated(runtime, encoder=use_encoder) is None
    with runtime.pool.connection() as conn:
        assert calibration_store.load(conn, use_encoder.name).params == older
    monkeypatch.undo()

    with caplog.at_level("WARNING", logger="pipeline.calibrate"):
        result = calibrate.ensure_calibrated(runtime, encoder=use_encoder)
    assert result.fitted == ["themes", "stories"] and "shipped" in result.notes[0]
    with runtime.pool.connection() as conn:
        stored = calibration_store.load(conn, use_encoder.name)
    assert stored.themes == shipped["params"]["themes"] and stored.stories == shipped["params"]["stories"]
    warnings = [r.getMessage() for r in caplog.records if "older newsmon" in r.getMessage()]
    assert len(warnings) == 1 and "themes and stories" in warnings[0] and use_encoder.name in warnings[0]
    assert calibrate.ensure_calibrated(runtime, encoder=use_encoder) is None  # once
