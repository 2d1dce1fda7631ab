"""The layout's rules (DESIGN.md), executable: import contracts (pyproject.toml, run by
``lint-imports``), module size, and where SQL and commits may stand."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PIPELINE = REPO / "pipeline"
MAX_MODULE_LINES = 500
# Where SQL may be written: the store, and the database layer (server bootstrap, roles, migrations).
SQL_HOMES = (PIPELINE / "store", PIPELINE / "infra" / "db")
# Calls that send SQL to Postgres, and psycopg's sql.SQL() that composes it.
SQL_CALLS = {"execute", "executemany", "copy", "SQL"}
SQL_START = re.compile(
    r"^\s*\(?\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|DROP|ALTER|TRUNCATE|COPY|SET|GRANT|REVOKE|LOCK)\b",
    re.IGNORECASE,
)


def _modules() -> list[Path]:
    return sorted(p for p in PIPELINE.rglob("*.py") if "__pycache__" not in p.parts)


def _outside(path: Path, homes: tuple[Path, ...]) -> bool:
    return not any(path.is_relative_to(home) for home in homes)


def _calls(path: Path, names: set[str]):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in names:
                yield node


def _strings(node: ast.AST):
    """The string literals in a call's arguments (f-string parts included)."""
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            yield child.value


def test_import_contracts():
    """pipeline never imports airflow; store and infra import no stage; stages don't import the
    CLI, the demo or the registry; the stages depend one way; no import cycles."""
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.fail(f"{lint} is missing: install the test extra (import-linter)")
    proc = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def test_no_module_over_500_lines():
    too_long = {
        str(p.relative_to(REPO)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_no_sql_outside_the_store():
    found = []
    for path in _modules():
        if not _outside(path, SQL_HOMES):
            continue
        for call in _calls(path, SQL_CALLS):
            args = [*call.args, *(k.value for k in call.keywords)]
            if any(SQL_START.match(s) for a in args for s in _strings(a)):
                found.append(f"{path.relative_to(REPO)}:{call.lineno}")
    assert found == [], "SQL belongs in pipeline/store/"


def test_only_stages_own_transactions():
    """Nothing commits by hand: stages use ``with pool.connection() as conn, conn.transaction():``
    and the store never commits (the pool's connection set-up is the one exception)."""
    found = [
        f"{path.relative_to(REPO)}:{call.lineno}"
        for path in _modules()
        if _outside(path, (PIPELINE / "infra" / "db",))
        for call in _calls(path, {"commit"})
    ]
    assert found == []


def test_the_registry_runs_every_stage_by_its_one_name():
    from pipeline.infra.runs import DIGEST_STAGE, PIPELINE_STAGES
    from pipeline.stages import INGEST_STEPS, STAGES

    assert list(STAGES) == [*PIPELINE_STAGES, DIGEST_STAGE]
    assert not set(STAGES) & set(INGEST_STEPS)
