"""SQL of ``model_calibration``: the parameters fitted for one embedding model (theme weights and
thresholds under ``params["themes"]``, story thresholds under ``params["stories"]``), and of
``theme_exemplars``: the labelled theme set's vectors of a model that ships none."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from psycopg.rows import class_row

__all__ = ["Calibration", "load", "save", "load_exemplars", "save_exemplars"]


@dataclass(frozen=True)
class Calibration:
    model: str
    fitted_at: dt.datetime
    params: dict = field(default_factory=dict)  # {"themes": {...}, "stories": {...}}
    dev_figures: dict = field(default_factory=dict)

    @property
    def themes(self) -> dict:
        return self.params.get("themes") or {}

    @property
    def stories(self) -> dict:
        return self.params.get("stories") or {}


def load(conn, model: str) -> Calibration | None:
    """The calibration of ``model``, or None when it was never calibrated."""
    with conn.cursor(row_factory=class_row(Calibration)) as cur:
        return cur.execute(
            "SELECT model, fitted_at, params, dev_figures FROM model_calibration WHERE model = %s", (model,)
        ).fetchone()


def save(conn, model: str, params: dict, figures: dict) -> None:
    """Store the calibration of ``model``. Top-level keys replace those stored and others stay,
    so the themes stage can store {"themes": ...} without dropping the stories' part."""
    conn.execute(
        """INSERT INTO model_calibration (model, params, dev_figures) VALUES (%s, %s, %s)
           ON CONFLICT (model) DO UPDATE SET params = model_calibration.params || EXCLUDED.params,
                  dev_figures = model_calibration.dev_figures || EXCLUDED.dev_figures, fitted_at = now()""",
        (model, json.dumps(params), json.dumps(figures)),
    )


def load_exemplars(conn, model: str) -> bytes | None:
    """The stored exemplar vectors of ``model`` (an .npz), or None."""
    row = conn.execute("SELECT vectors FROM theme_exemplars WHERE model = %s", (model,)).fetchone()
    return bytes(row[0]) if row else None


def save_exemplars(conn, model: str, digest: str, vectors: bytes) -> None:
    conn.execute(
        """INSERT INTO theme_exemplars (model, digest, vectors) VALUES (%s, %s, %s)
           ON CONFLICT (model) DO UPDATE SET digest = EXCLUDED.digest, vectors = EXCLUDED.vectors, stored_at = now()""",
        (model, digest, vectors),
    )
