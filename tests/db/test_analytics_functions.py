"""analytics.search, analytics.similar_articles and analytics.story_timeline on hand-made rows."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

ARTICLES = [
    # key, language, published_at (UTC), source, title, body
    ("de_export", "de", "2026-03-02 10:00", "heise",
     "USA verschärfen Exportkontrollen für KI-Chips",
     "Die US-Regierung verschärft die Exportkontrollen für Halbleiter nach China. Nvidia darf "
     "den H20 nicht mehr ohne Lizenz liefern. Die Sanktionen treffen auch Zulieferer."),
    ("en_export", "en", "2026-03-02 08:00", "reuters",
     "US tightens export controls on AI chips",
     "The United States tightened export controls on advanced semiconductors bound for China. "
     "Nvidia can no longer ship the H20 without a licence."),
    ("en_body_only", "en", "2026-03-03 09:00", "verge",
     "Chipmakers report quarterly results",
     "Revenue grew strongly. Analysts asked about export controls only at the end of the call."),
    ("en_open", "en", "2026-03-04 12:00", "verge",
     "Open-weight model passes one million downloads",
     "An open-weight language model passed one million downloads on Hugging Face within a week."),
    ("de_open", "de", "2026-03-04 15:30", "golem",
     "Offenes Sprachmodell knackt eine Million Downloads",
     "Ein offenes Sprachmodell wurde binnen einer Woche mehr als eine Million Mal heruntergeladen."),
    ("en_copy", "en", "2026-03-02 09:00", "syndicator",
     "US tightens export controls on AI chips",
     "The United States tightened export controls on advanced semiconductors bound for China. "
     "Nvidia can no longer ship the H20 without a licence."),
]


@pytest.fixture
def ids(db_url) -> dict[str, int]:
    """Insert the articles; embeddings, a story and a syndicated copy. Returns key -> article_id."""
    out = {}
    with psycopg.connect(db_url) as conn:
        for key, lang, published, source, title, body in ARTICLES:
            out[key] = conn.execute(
                "INSERT INTO articles (url, canonical_url, title, language, published_at, body_text,"
                " extract_status, source) VALUES (%s, %s, %s, %s, %s::timestamptz, %s, 'ok', %s) RETURNING article_id",
                (f"http://{source}/{key}", f"http://{source}/{key}", title, lang, published + "+00", body, source),
            ).fetchone()[0]
        conn.execute("UPDATE articles SET duplicate_of = %s WHERE article_id = %s", (out["en_export"], out["en_copy"]))
        conn.execute("INSERT INTO embedding_models (model, dims, backend, active) VALUES "
                     "('active-m', 3, 'test', true), ('old-m', 3, 'test', false)")
        vectors = {"de_export": "[1, 0.05, 0]", "en_export": "[0.98, 0.1, 0]", "en_copy": "[1, 0.05, 0]",
                   "en_body_only": "[0.6, 0.6, 0.2]", "en_open": "[0, 1, 0.1]", "de_open": "[0.05, 0.95, 0.1]"}
        for key, vec in vectors.items():
            conn.execute("INSERT INTO embeddings (article_id, model, embedding) VALUES (%s, 'active-m', %s)",
                         (out[key], vec))
        # the old model's vectors would rank en_open first for de_export: they must never be used
        conn.execute("INSERT INTO embeddings (article_id, model, embedding) VALUES (%s, 'old-m', '[1,0,0]'), "
                     "(%s, 'old-m', '[1,0,0]')", (out["de_export"], out["en_open"]))
        story = conn.execute("INSERT INTO stories (label, theme, languages) VALUES ('exportkontrollen export controls',"
                             " 'sanctions', '{de,en}') RETURNING story_id").fetchone()[0]
        other = conn.execute("INSERT INTO stories (label, theme, languages) VALUES ('downloads', 'open_source',"
                             " '{de,en}') RETURNING story_id").fetchone()[0]
        for key in ("de_export", "en_export", "en_copy"):
            conn.execute("INSERT INTO story_members (article_id, story_id) VALUES (%s, %s)", (out[key], story))
        for key in ("en_open", "de_open"):
            conn.execute("INSERT INTO story_members (article_id, story_id) VALUES (%s, %s)", (out[key], other))
        out["story"], out["other_story"] = story, other
    return out


def _search(url, query, lang=None):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT article_id, title, language, rank, snippet FROM analytics.search(%s, %s)", (query, lang)
        ).fetchall()


def test_search_german_stemming_finds_inflected_forms(db_url, ids):
    rows = _search(db_url, "Exportkontrolle", "de")
    assert [r[0] for r in rows] == [ids["de_export"]]
    assert "**Exportkontrollen**" in rows[0][4]


def test_search_ranks_title_matches_above_body_matches_and_skips_copies(db_url, ids):
    rows = _search(db_url, "export controls", "en")
    assert [r[0] for r in rows] == [ids["en_export"], ids["en_body_only"]]  # the copy is left out
    assert rows[0][3] > rows[1][3] > 0
    assert all(0 < r[3] < 1 for r in rows)


def test_search_without_language_covers_both_with_their_own_stemming(db_url, ids):
    rows = _search(db_url, "Million Downloads")
    assert {r[0] for r in rows} == {ids["en_open"], ids["de_open"]}
    assert {r[2] for r in rows} == {"de", "en"}
    assert [r[0] for r in _search(db_url, "Million Downloads", "en")] == [ids["en_open"]]


def test_search_web_syntax_phrase_and_exclusion(db_url, ids):
    assert [r[0] for r in _search(db_url, '"export controls" -quarterly', "en")] == [ids["en_export"]]
    assert _search(db_url, '"controls export"', "en") == []


def test_search_empty_and_stopword_queries_return_nothing(db_url, ids):
    assert _search(db_url, "") == []
    assert _search(db_url, "the and of") == []


def test_search_limit_and_bad_language(db_url, ids):
    with psycopg.connect(db_url) as conn:
        assert len(conn.execute("SELECT * FROM analytics.search('export', 'en', 1)").fetchall()) == 1
        with pytest.raises(errors.InvalidParameterValue, match="lang must be"):
            conn.execute("SELECT * FROM analytics.search('export', 'fr')")


def test_search_vector_follows_text_updates_and_huge_bodies_still_insert(db_url, ids):
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE articles SET body_text = body_text || ' Halbleiterfabrik' WHERE article_id = %s",
                     (ids["de_open"],))
        # 3 MB of distinct words: a full tsvector would pass 1 MB and fail the insert
        huge = " ".join(f"wort{i}" for i in range(400_000))
        conn.execute("INSERT INTO articles (url, canonical_url, title, language, body_text) "
                     "VALUES ('http://x/huge', 'http://x/huge', 'Riesentext', 'de', %s)", (huge,))
    assert [r[0] for r in _search(db_url, "Halbleiterfabrik", "de")] == [ids["de_open"]]
    assert [r[1] for r in _search(db_url, "Riesentext", "de")] == ["Riesentext"]


def _similar(url, article_id, k):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT article_id, similarity, story_id FROM analytics.similar_articles(%s, %s)",
                            (article_id, k)).fetchall()


def test_similar_articles_nearest_first_across_languages(db_url, ids):
    rows = _similar(db_url, ids["de_export"], 3)
    assert [r[0] for r in rows] == [ids["en_export"], ids["en_body_only"], ids["de_open"]]
    sims = [r[1] for r in rows]
    assert sims == sorted(sims, reverse=True) and 0.99 < sims[0] <= 1
    assert rows[0][2] == ids["story"]


def test_similar_articles_uses_only_the_active_model_and_skips_copies_and_itself(db_url, ids):
    everything = [r[0] for r in _similar(db_url, ids["de_export"], 100)]
    assert ids["de_export"] not in everything and ids["en_copy"] not in everything
    assert len(everything) == 4
    with psycopg.connect(db_url) as conn:  # switch the active model: only old-m vectors count now
        conn.execute("UPDATE embedding_models SET active = false")
        conn.execute("UPDATE embedding_models SET active = true WHERE model = 'old-m'")
    assert [r[0] for r in _similar(db_url, ids["de_export"], 5)] == [ids["en_open"]]
    assert _similar(db_url, ids["de_open"], 5) == []  # no vector for the active model
    assert _similar(db_url, ids["de_export"], 0) == []


def test_story_timeline_in_time_order_with_outlets(db_url, ids):
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT position, article_id, source, language, hours_after_first, duplicate_of "
            "FROM analytics.story_timeline(%s)", (ids["story"],)).fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (1, ids["en_export"], "reuters", "en"),
        (2, ids["en_copy"], "syndicator", "en"),
        (3, ids["de_export"], "heise", "de"),
    ]
    assert [float(r[4]) for r in rows] == [0.0, 1.0, 2.0]
    assert rows[1][5] == ids["en_export"]
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM analytics.story_timeline(-1)").fetchone()[0] == 0


def test_similar_articles_uses_the_embed_stage_hnsw_index(db_url, ids):
    from pipeline.store.embeddings import ensure_index, index_name

    with psycopg.connect(db_url) as conn:
        ensure_index(conn, "active-m", 3)
    exact = _similar(db_url, ids["de_export"], 3)
    with psycopg.connect(db_url) as conn:
        conn.execute("SET enable_seqscan = off")  # tiny table: make the planner show it can use the index
        via_index = conn.execute("SELECT article_id, similarity FROM analytics.similar_articles(%s, 3)",
                                 (ids["de_export"],)).fetchall()
    # the backend flushes its statistics when it exits: read them from a new session
    with psycopg.connect(db_url) as conn:
        scans = conn.execute("SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = %s",
                             (index_name("active-m"),)).fetchone()[0]
    assert scans >= 1
    assert [r[0] for r in via_index] == [r[0] for r in exact]
    assert [round(r[1], 6) for r in via_index] == [round(r[1], 6) for r in exact]
