"""``newsmon calibrate``: the theme weights and thresholds and the story thresholds for the active
embedding model, fitted on the labelled development set (pipeline/data/labelled/) and stored per
model in ``model_calibration``; ``--export FILE`` / ``--import FILE`` move a calibration between
databases (a file for another model is refused, naming both).

``ensure_calibrated`` runs before the themes and stories stages (pipeline/stages.py): the first
time an uncalibrated model is active, it gets the calibration shipped for it (bundled models) or
is calibrated on the development set; without either the stages refuse with one line. A stored
part fitted for an older newsmon (another theme set or embedded text, an older story fit) is
replaced by the shipped one when that one fits this version.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.embed.encoders import CachedEncoder, load_encoder, model_id
from pipeline.infra.config import UserError
from pipeline.infra.ledger import session_locked
from pipeline.labelled import dev_articles, story_dev_articles
from pipeline.store import calibration as store
from pipeline.store import embeddings as embeddings_store
from pipeline.store import locks
from pipeline.stories.calibrate import (fit_story_params_with_figures, fitted_by_older_version, story_params_from_dict,
                                        story_params_to_dict)
from pipeline.themes.calibrate import (FILE_FORMAT, CalibrationError, fit_dev, fitted_with_this_taxonomy,
                                      read_calibration_file, shipped_calibration)
from pipeline.themes.exemplars import exemplars_for

log = logging.getLogger(__name__)


@dataclass
class CalibrateResult:
    model: str
    fitted: list[str] = field(default_factory=list)  # parts fitted now: themes, stories
    figures: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"calibration of {self.model}: " + (f"fitted {', '.join(self.fitted)}" if self.fitted else "unchanged")]
        themes = self.figures.get("themes") or {}
        if themes:
            lines.append(f"  themes on the labelled theme set (in-sample): accuracy {themes['accuracy']:.3f}, "
                         f"off-topic given a theme {themes['off_topic_given_theme']} of {themes['off_topic']}")
            held_out = themes.get("out_of_fold")
            if held_out:  # each story scored by weights fitted without it: the honest dev figure
                lines.append(f"  themes out of fold: accuracy {held_out['accuracy']:.3f}, off-topic given a "
                             f"theme {held_out['off_topic_given_theme']} of {held_out['off_topic']}")
        stories = self.figures.get("stories") or {}
        if stories:
            lines.append("  stories on the development set (in-sample): "
                         + ", ".join(f"{k} {v:.3f}" for k, v in stories.items() if isinstance(v, float)))
        return "\n".join(lines + [f"  {n}" for n in self.notes])


def _active_model(rt) -> str:
    with rt.pool.connection() as conn:
        active = embeddings_store.active_model(conn)
    return active.model if active else model_id(rt.settings.embed_model)


def fit_stories(encoder) -> tuple[dict, dict]:
    """(params, figures) of the stories' fit on the development set. A bundled model's shipped
    cells stay while they are on the fit's plateau (pipeline/stories/calibrate.py: choose_plateau)."""
    shipped = (shipped_calibration(encoder.name) or {}).get("params", {}).get("stories")
    current = story_params_from_dict(shipped) if shipped and not fitted_by_older_version(shipped) else None
    params, figures = fit_story_params_with_figures(encoder, story_dev_articles(), current=current)
    # shares as floats, pair counts as ints (the summary prints the shares)
    figures = {k: v if isinstance(v, int) else float(v) for k, v in vars(figures).items()}
    return story_params_to_dict(params), figures


def calibrate(rt, *, parts: tuple[str, ...] = ("themes", "stories"), encoder=None) -> CalibrateResult:
    """Fit ``parts`` for the active model on the development set and store them."""
    model = _active_model(rt)
    encoder = encoder if encoder is not None and encoder.name == model else load_encoder(model, fallback=False)
    encoder = CachedEncoder(encoder)  # the story fit encodes most of the theme fit's articles again
    result = CalibrateResult(model)
    params: dict = {}
    if "themes" in parts:
        fit = fit_dev(encoder, exemplars_for(rt.pool, encoder))
        params["themes"], result.figures["themes"] = fit.params.to_json(), fit.figures
    if "stories" in parts:
        params["stories"], result.figures["stories"] = fit_stories(encoder)
    with rt.pool.connection() as conn, conn.transaction():
        store.save(conn, model, params, result.figures)
    result.fitted = list(params)
    return result


def ensure_calibrated(rt, encoder=None) -> CalibrateResult | None:
    """Calibrate the active model where its calibration (or a part of it) is missing; None when
    there was nothing to do or no model is active yet. Concurrent callers (the mapped embedding
    tasks of one run) take turns: the second one waits, then finds the calibration stored."""
    with rt.pool.connection() as lock_conn, session_locked(lock_conn, locks.CALIBRATION):
        return _ensure_calibrated(rt, encoder)


def _outdated(part: str, values: dict | None) -> bool:
    """Whether calibrated ``part`` was fitted for another version's evidence."""
    return not fitted_with_this_taxonomy(values) if part == "themes" else fitted_by_older_version(values)


def _ensure_calibrated(rt, encoder=None) -> CalibrateResult | None:
    with rt.pool.connection() as conn:
        active = embeddings_store.active_model(conn)
        stored = store.load(conn, active.model) if active else None
    if active is None:
        return None
    missing = tuple(p for p in ("themes", "stories") if not (stored and stored.params.get(p)))
    shipped = shipped_calibration(active.model)
    current = {p for p in ("themes", "stories") if shipped and p in shipped["params"] and not _outdated(p, shipped["params"][p])}
    # after an upgrade: a stored part fitted for the older version gives way to this version's shipped one
    outdated = tuple(p for p in ("themes", "stories") if p not in missing and p in current
                     and _outdated(p, stored.params[p]))
    if not missing and not outdated:
        return None
    if set(missing) <= current:
        parts = missing + outdated
        with rt.pool.connection() as conn, conn.transaction():
            store.save(conn, active.model, {p: shipped["params"][p] for p in parts},
                       {p: shipped["dev_figures"][p] for p in parts if p in shipped.get("dev_figures", {})})
        if outdated:
            log.warning("the stored %s calibration of %s was fitted for an older newsmon: replaced by the one "
                        "shipped with this version", " and ".join(outdated), active.model)
        return CalibrateResult(active.model, list(parts), notes=["from the calibration shipped with newsmon"])
    if not missing:
        return None
    if not dev_articles():
        raise CalibrationError(
            f"embedding model {active.model} has no calibration and the labelled development set is not "
            f"installed: import one with `newsmon calibrate --import FILE`")
    log.info("embedding model %s is not calibrated yet (%s): calibrating on the development set",
             active.model, ", ".join(missing))
    return calibrate(rt, parts=missing, encoder=encoder)


def export_calibration(rt, path: Path) -> str:
    model = _active_model(rt)
    with rt.pool.connection() as conn:
        stored = store.load(conn, model)
    if stored is None:
        raise UserError(f"embedding model {model} has no calibration to export: run `newsmon calibrate` first")
    path.write_text(json.dumps({"format": FILE_FORMAT, "model": model, "fitted_at": stored.fitted_at.isoformat(),
                                "params": stored.params, "dev_figures": stored.dev_figures}, indent=2) + "\n",
                    encoding="utf-8")
    return f"exported the calibration of {model} to {path}"


def import_calibration(rt, path: Path) -> str:
    """Store a calibration file for the active model; a file for another model is refused."""
    data = read_calibration_file(path)
    model = _active_model(rt)
    if data.get("model") != model:
        raise UserError(f"calibration file {path} is for embedding model {data.get('model')}, but the active "
                        f"model is {model}: refused")
    with rt.pool.connection() as conn, conn.transaction():
        store.save(conn, model, data["params"], data.get("dev_figures") or {})
    return f"imported the calibration of {model} from {path} ({', '.join(data['params']) or 'nothing'})"


__all__ = ["CalibrateResult", "calibrate", "ensure_calibrated", "export_calibration", "import_calibration", "fit_stories"]
