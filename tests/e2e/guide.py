"""The example queries of docs/analysts.md: parse them, format results, check or refresh the guide.

An example is a section headed ``### Example N. Title`` holding one fenced ``sql`` block and,
after it, a Markdown table: the complete result on the demo data. tests/e2e/test_analyst_guide.py
runs each query as newsmon_analyst on the demo database and compares; bench/analytics.py times
them. When the demo corpus changes on purpose, refresh the tables from a database where
`newsmon demo` ran:

    .venv/bin/python -m tests.e2e.guide --update "$(.venv/bin/newsmon db url)"
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "analysts.md"
_HEADING = re.compile(r"^### Example (\d+)\. (.+)$", re.M)
_SQL = re.compile(r"```sql\n(.*?)```", re.S)
_TABLE = re.compile(r"((?:^\|.*\|[ \t]*\n)+)", re.M)


@dataclass
class Example:
    number: int
    title: str
    sql: str
    columns: list[str]
    rows: list[list[str]]
    table_span: tuple[int, int]  # where the result table sits in the guide's text


def _split_row(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [c.strip().replace("\\|", "|") for c in cells]


def parse_examples(text: str) -> list[Example]:
    heads = list(_HEADING.finditer(text))
    out = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        next_section = text.find("\n## ", head.end())
        if 0 <= next_section < end:
            end = next_section
        body_start = head.end()
        query = _SQL.search(text, body_start, end)
        if query is None:
            raise ValueError(f"example {head.group(1)} has no ```sql block")
        table = _TABLE.search(text, query.end(), end)
        if table is None:
            raise ValueError(f"example {head.group(1)} has no result table after its query")
        lines = table.group(1).rstrip("\n").split("\n")
        columns = _split_row(lines[0])
        rows = [_split_row(line) for line in lines[2:]]
        out.append(Example(int(head.group(1)), head.group(2).strip(), query.group(1).strip(), columns, rows,
                           table.span(1)))
    numbers = [e.number for e in out]
    if numbers != list(range(1, len(out) + 1)):
        raise ValueError(f"examples must be numbered 1..n in order, got {numbers}")
    return out


def format_cell(value) -> str:
    """A value as the guide shows it (psql-like)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc)
            return value.strftime("%Y-%m-%d %H:%M UTC")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "{" + ",".join(format_cell(v) for v in value) + "}"
    text = str(value).replace("\n", " ").replace("|", "\\|")
    return text


def render_table(columns: list[str], rows: list[tuple]) -> str:
    head = "| " + " | ".join(columns) + " |\n"
    rule = "|" + "|".join("---" for _ in columns) + "|\n"
    body = "".join("| " + " | ".join(format_cell(v) for v in row) + " |\n" for row in rows)
    return head + rule + body


def _numeric(cell: str):
    try:
        return Decimal(cell)
    except ArithmeticError:
        return None


def cells_match(expected: str, actual: str) -> bool:
    """Equal text; numbers with a fraction may differ by one unit in their last shown digit
    (similarities and ranks computed in floating point)."""
    if expected == actual:
        return True
    e, a = _numeric(expected), _numeric(actual)
    if e is None or a is None or "." not in expected:
        return False
    unit = Decimal(1).scaleb(e.as_tuple().exponent)
    return abs(e - a) <= unit


def run_example(conn, example: Example) -> tuple[list[str], list[tuple]]:
    cur = conn.execute(example.sql)
    return [d.name for d in cur.description], cur.fetchall()


def compare(example: Example, columns: list[str], rows: list[tuple]) -> list[str]:
    """Differences between the guide's table and a result, as readable lines (empty: same)."""
    problems = []
    if columns != example.columns:
        problems.append(f"columns {columns} != guide's {example.columns}")
    actual = [[format_cell(v) for v in row] for row in rows]
    if len(actual) != len(example.rows):
        problems.append(f"{len(actual)} rows, the guide shows {len(example.rows)}")
    for i, (want, got) in enumerate(zip(example.rows, actual), start=1):
        if len(want) != len(got) or not all(cells_match(w, g) for w, g in zip(want, got)):
            problems.append(f"row {i}: guide {want} != result {got}")
    return problems


def update_guide(url: str, path: Path = GUIDE) -> int:
    """Re-run every example on ``url`` and write the results into the guide's tables."""
    import psycopg

    text = path.read_text(encoding="utf-8")
    examples = parse_examples(text)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        for example in reversed(examples):  # from the end, so earlier spans stay valid
            columns, rows = run_example(conn, example)
            start, end = example.table_span
            text = text[:start] + render_table(columns, rows) + text[end:]
    path.write_text(text, encoding="utf-8")
    return len(examples)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="check or refresh the result tables of docs/analysts.md")
    p.add_argument("--update", metavar="URL", required=True, help="database where `newsmon demo` ran")
    args = p.parse_args(argv)
    print(f"updated {update_guide(args.update)} example result(s) in {GUIDE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
