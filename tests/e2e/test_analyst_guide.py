"""docs/analysts.md against the demo data: every example query, run as newsmon_analyst, returns
exactly the rows the guide shows, and the data dictionary describes every analytics column."""

from __future__ import annotations

import re
import secrets

import psycopg
import pytest

from pipeline.infra.db.roles import ANALYST_ROLE, apply_role_passwords, role_url
from tests.e2e.guide import GUIDE, compare, parse_examples, run_example

EXAMPLES = parse_examples(GUIDE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def analyst_url(demo_db_url, tmp_path_factory):
    from pipeline.infra.config import Settings

    password = secrets.token_urlsafe(16)
    apply_role_passwords(demo_db_url, Settings(database_url=demo_db_url, analyst_password=password))
    return role_url(demo_db_url, ANALYST_ROLE, password)


def test_guide_has_at_least_ten_examples_with_results():
    assert len(EXAMPLES) >= 10
    for ex in EXAMPLES:
        assert ex.rows, f"example {ex.number} shows no result rows: a query that returns nothing proves nothing"


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example{e.number}" for e in EXAMPLES])
def test_example_returns_the_rows_the_guide_shows(analyst_url, example):
    with psycopg.connect(analyst_url, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == ANALYST_ROLE
        conn.execute("SET TIME ZONE 'UTC'")
        columns, rows = run_example(conn, example)
    problems = compare(example, columns, rows)
    assert not problems, (
        f"example {example.number} ({example.title}) no longer matches docs/analysts.md:\n  "
        + "\n  ".join(problems)
        + "\nIf the demo data changed on purpose: python -m tests.e2e.guide --update URL"
    )


def _dictionary() -> dict[str, set[str]]:
    """View -> columns described in the guide's data dictionary."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## Data dictionary"):text.index("## Example queries")]
    out = {}
    for block in re.split(r"^### ", section, flags=re.M)[1:]:
        heading, _, body = block.partition("\n")
        if not heading.startswith("analytics."):
            continue
        rows = [line for line in body.splitlines() if line.startswith("| ") and not line.startswith("| column")]
        out[heading.strip().removeprefix("analytics.")] = {line.split("|")[1].strip() for line in rows}
    return out


def test_data_dictionary_covers_every_view_and_column(demo_db_url):
    with psycopg.connect(demo_db_url) as conn:
        actual = {}
        for view, column in conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'analytics'"
        ):
            actual.setdefault(view, set()).add(column)
    documented = _dictionary()
    missing_views = set(actual) - set(documented)
    assert not missing_views, f"views missing from the data dictionary: {sorted(missing_views)}"
    for view, columns in actual.items():
        assert columns <= documented[view], f"analytics.{view}: undocumented columns {sorted(columns - documented[view])}"
        assert documented[view] <= columns, f"analytics.{view}: documented columns that do not exist {sorted(documented[view] - columns)}"


def test_demo_data_is_rich_enough_for_the_examples(demo_db_url):
    """The guide's examples need stories in both languages, a syndicated copy and figures."""
    with psycopg.connect(demo_db_url) as conn:
        bilingual = conn.execute("SELECT count(*) FROM analytics.stories WHERE languages @> '{de,en}'").fetchone()[0]
        copies = conn.execute("SELECT count(*) FROM analytics.articles WHERE duplicate_of IS NOT NULL").fetchone()[0]
        figures = conn.execute("SELECT count(*) FROM analytics.indicator_observations").fetchone()[0]
    assert bilingual >= 3 and copies >= 1 and figures >= 5
