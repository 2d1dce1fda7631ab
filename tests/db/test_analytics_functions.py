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


def _how(url, query, lang=None, semantic=False):
    """article_id -> (matched_by, match_note) of one search."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT article_id, matched_by, match_note FROM analytics.search(%s, lang => %s, "
                            "semantic => %s)", (query, lang, semantic)).fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_one_query_finds_both_languages_through_the_term_table(db_url, ids):
    english = _how(db_url, "export controls")
    assert english == {ids["en_export"]: ("text", None), ids["en_body_only"]: ("text", None),
                       ids["de_export"]: ("expansion", "via export controls")}
    german = _how(db_url, "Exportkontrollen")
    assert german == {ids["de_export"]: ("text", None), ids["en_export"]: ("expansion", "via export controls"),
                      ids["en_body_only"]: ("expansion", "via export controls")}
    # inflected, and with a name that is the same in both languages
    assert set(_how(db_url, "Exportkontrolle Nvidia")) == {ids["de_export"], ids["en_export"]}
    assert set(_how(db_url, "export controls", "de")) == {ids["de_export"]}


def test_expansion_keeps_other_words_and_drops_stop_words_of_either_language(db_url, ids):
    with psycopg.connect(db_url) as conn:
        de, en, concepts = conn.execute(
            "SELECT de::text, en::text, concepts FROM analytics.expand_search_query('export controls for the H20')"
        ).fetchone()
    assert concepts == ["export controls"]
    assert "exportkontroll" in de and "'h20'" in de and "'for'" not in de
    assert "'export' <-> 'control'" in en and "'h20'" in en


def test_web_search_syntax_is_not_expanded(db_url, ids):
    assert _how(db_url, '"export controls"') == {ids["en_export"]: ("text", None), ids["en_body_only"]: ("text", None)}
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT concepts FROM analytics.expand_search_query('chips -quarterly')").fetchone()[0] is None


def test_entity_aliases_expand_a_query(db_url, ids):
    with psycopg.connect(db_url) as conn:
        if conn.execute("SELECT to_regclass('public.entities')").fetchone()[0] is None:
            pytest.skip("no entities table (sql/migrations/0014)")
        conn.execute("INSERT INTO entities (name, entity_type, types, aliases) VALUES "
                     "('Qwen', 'model', '{model}', '{Tongyi Qianwen}') ON CONFLICT (name) DO UPDATE "
                     "SET aliases = excluded.aliases, active = true")
        qwen = conn.execute(
            "INSERT INTO articles (url, canonical_url, title, language, published_at, body_text, extract_status, source)"
            " VALUES ('http://q/1', 'http://q/1', 'Qwen-Modelle gefragt', 'de', '2026-03-05 10:00+00',"
            " 'Die Qwen-Familie von Alibaba.', 'ok', 'golem') RETURNING article_id").fetchone()[0]
    assert _how(db_url, "Tongyi Qianwen") == {qwen: ("expansion", "via Qwen")}


def test_semantic_adds_embedding_neighbours_of_the_best_hits(db_url, ids):
    plain = _how(db_url, "Exportkontrollen")
    both = _how(db_url, "Exportkontrollen", semantic=True)
    extra = {k: v for k, v in both.items() if k not in plain}
    assert set(extra) == {ids["en_open"], ids["de_open"]}  # near en_body_only, a hit; copies never
    assert all(how == "semantic" and note.startswith("similar to article ") for how, note in extra.values())
    assert {k: v for k, v in both.items() if k in plain} == plain
    # with a language, the seeds are that language's hits: de_export has no German neighbour >= 0.5
    assert set(_how(db_url, "Exportkontrollen", "de", semantic=True)) == {ids["de_export"]}
    assert set(_how(db_url, "export controls", "en", semantic=True)) == {
        ids["en_export"], ids["en_body_only"], ids["en_open"]}


@pytest.mark.parametrize("query", ["&", "|", "!", "!!!", "'", "''", '"', '"unclosed', "a & b | !c", "(x", "):*",
                                   "'; DROP TABLE articles; --", "\\", "export & controls | ! 'chips'",
                                   "Exportkontrollen " * 1000, "x" * 10_000])
def test_hostile_queries_never_raise(db_url, ids, query):
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT article_id, matched_by FROM analytics.search(%s, semantic => true)",
                            (query,)).fetchall()
        assert len(rows) <= 40  # at most max_results text hits plus as many neighbours
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == len(ARTICLES)


def test_a_ten_kilobyte_query_is_cut_before_any_work(db_url, ids):
    """Bounded work, counted rather than timed: 1,000 characters and 64 words at most."""
    with psycopg.connect(db_url) as conn:
        concepts, nodes = conn.execute(
            "SELECT concepts, numnode(de) FROM analytics.expand_search_query(repeat('Exportkontrollen ', 700))"
        ).fetchone()
    assert concepts == ["export controls"]  # 58 words kept (1,000 characters), one concept ANDed once
    assert nodes == 5  # three terms ORed
    with psycopg.connect(db_url) as conn:
        (words,) = conn.execute("SELECT numnode(en) FROM analytics.expand_search_query("
                                "(SELECT string_agg('wort' || i, ' ') FROM generate_series(1, 500) i))").fetchone()
    assert words is None  # no concept: nothing expanded, however long the query
    rows = _how(db_url, "Exportkontrollen " * 700)
    assert rows[ids["de_export"]][0] == "text" and rows[ids["en_export"]][0] == "expansion"
    assert rows == _how(db_url, "Exportkontrollen")  # a repeated word counts once


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
