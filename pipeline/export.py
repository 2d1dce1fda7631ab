"""``newsmon export VIEW``: one analytics view to a CSV or Parquet file.

The view name is checked against the views that exist in the ``analytics`` schema (and is
then quoted with ``sql.Identifier``), so nothing else in the database can be exported.
``since`` keeps the rows whose date column (``EXPORT_DATE_COLUMNS``, else the view's first
date/timestamp column) is on or after that day, midnight in ``NEWSMON_TIMEZONE``.
Timestamps are written in UTC. Rows are streamed, never held in memory all at once. CSV
writes booleans as ``true``/``false`` and arrays as JSON arrays (``["de","en"]``), which
spreadsheets, pandas and R read without a Postgres-specific parser. An existing output file
is kept unless ``force``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pipeline.infra.config import UserError
from pipeline.store.analytics import Column, copy_csv, list_views, row_batches, use_utc, view_columns, view_query

FORMATS = ("csv", "parquet")
BATCH_ROWS = 10_000

# The column --since filters on, for the views of DESIGN.md's contract.
EXPORT_DATE_COLUMNS = {
    "articles": "published_at",
    "stories": "last_seen",
    "theme_daily": "day",
    "indicator_observations": "observed_at",
    "feed_health": "last_checked_at",
}
_DATE_TYPES = ("date", "timestamp with time zone", "timestamp without time zone")


class ExportError(UserError):
    """The export cannot be done as asked (unknown view, no date column for --since)."""


def date_column(view: str, columns: list[Column]) -> str | None:
    names = {c.name for c in columns}
    preferred = EXPORT_DATE_COLUMNS.get(view)
    if preferred in names:
        return preferred
    for c in columns:
        if c.data_type in _DATE_TYPES:
            return c.name
    return None


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int

    def summary(self) -> str:
        return f"{self.rows} row(s) written to {self.path}"


def export_view(rt, view: str, fmt: str = "csv", since: dt.date | None = None, out: Path | None = None,
                *, force: bool = False) -> ExportResult:
    """Write ``analytics.<view>`` (rows on/after ``since``) to ``out`` (default ``VIEW.FORMAT``).

    An existing ``out`` is refused unless ``force``: a re-run with another --since must not
    silently replace yesterday's file."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r} (use {' or '.join(FORMATS)})")
    name = view.removeprefix("analytics.")
    out = Path(out) if out is not None else Path(f"{name}.{fmt}")
    _check_target(out, force)
    with rt.pool.connection() as conn, conn.transaction():
        available = list_views(conn)
        if name not in available:
            raise ExportError(f"no analytics view named {view!r} (available: {', '.join(available)})")
        columns = view_columns(conn, name)
        column = timezone = None
        if since is not None:
            column = date_column(name, columns)
            if column is None:
                raise ExportError(f"analytics.{name} has no date column, so --since cannot filter it")
            if next(c.data_type for c in columns if c.name == column) == "timestamp with time zone":
                timezone = rt.settings.timezone  # the day starts at midnight there
        query = view_query(name, since_column=column, since=since, timezone=timezone,
                           csv_columns=columns if fmt == "csv" else None)
        tmp = out.with_name(out.name + ".part")
        use_utc(conn)
        try:
            if fmt == "csv":
                rows = _write_csv(conn, query, tmp)
            else:
                rows = _write_parquet(conn, query, columns, tmp)
            tmp.replace(out)  # a half-written file never carries the final name
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
    return ExportResult(out, rows)


def _check_target(out: Path, force: bool) -> None:
    """Refuse an existing file (without force) or a place that cannot hold one, before any query."""
    if out.is_dir():
        raise ExportError(f"{out} is a directory: give a file name with --out")
    if out.exists() and not force:
        raise ExportError(f"{out} exists: use --force to overwrite it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
    if not os.access(out.parent, os.W_OK):
        raise ExportError(f"cannot write {out}: the folder {out.parent} is not writable")


def _write_csv(conn, query, path: Path) -> int:
    with path.open("wb") as fh:
        return copy_csv(conn, query, fh.write)


# --------------------------------------------------------------------------- parquet


def _arrow_type(col: Column):
    import pyarrow as pa

    scalar = {
        "int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64(),
        "float4": pa.float32(), "float8": pa.float64(), "numeric": pa.float64(),
        "bool": pa.bool_(), "date": pa.date32(),
        "timestamptz": pa.timestamp("us", tz="UTC"), "timestamp": pa.timestamp("us"),
        "vector": pa.list_(pa.float32()),
    }
    if col.udt_name.startswith("_"):
        inner = scalar.get(col.udt_name[1:], pa.string())
        return pa.list_(inner)
    return scalar.get(col.udt_name, pa.string())


def _to_python(value, arrow_type):
    """One cell as pyarrow expects it for the column's type."""
    import pyarrow as pa

    if value is None:
        return None
    if pa.types.is_floating(arrow_type) and isinstance(value, Decimal):
        return float(value)
    if pa.types.is_list(arrow_type):
        inner = arrow_type.value_type
        return [_to_python(v, inner) for v in value]
    if pa.types.is_string(arrow_type) and not isinstance(value, str):
        return json.dumps(value, default=str) if isinstance(value, (dict, list)) else str(value)
    if hasattr(value, "tolist"):  # pgvector / numpy
        return value.tolist()
    return value


def _write_parquet(conn, query, columns: list[Column], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([pa.field(c.name, _arrow_type(c)) for c in columns])
    count = 0
    with pq.ParquetWriter(path, schema) as writer, closing(row_batches(conn, query, BATCH_ROWS)) as batches:
        for rows in batches:
            arrays = [
                pa.array([_to_python(r[i], f.type) for r in rows], type=f.type)
                for i, f in enumerate(schema)
            ]
            writer.write_batch(pa.record_batch(arrays, schema=schema))
            count += len(rows)
    return count
