"""Fitting the theme weights and threshold for one embedding model on the labelled theme set (the
dev files and the held-out sets of earlier rounds: pipeline.labelled.theme_articles).

A pooled one-vs-rest logistic regression over the evidence features (embedding margin, keywords,
negative keywords) with one bias per theme, L2-regularised, solved by Newton's method (no
scikit-learn at run time). An article's acceptable alternative themes are left out of the fit
for that theme (neither pushed up nor down).

The threshold is chosen on *out-of-fold* probabilities (each article scored by weights fitted
without its story: folds grouped by story, so that a German and an English report of one event
never sit on both sides), because in-sample probabilities of a fitted model are too confident:
the dev half scored 0.995 in-sample and 0.94 on the test half with a threshold picked in-sample.
An off-topic article given a theme counts as two errors (a wrong theme on general news is what
readers notice; a missed one is only not counted). The threshold is the middle of the range
where that score stays within one point of its best, so that it is not tuned to one lucky value.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from pipeline.infra.config import UserError
from pipeline.labelled import DEV_FILES
from pipeline.store import calibration as calibration_store
from pipeline.themes.exemplars import SHIPPED_DIR, Exemplars, exemplars_for, exemplars_of, theme_set
from pipeline.themes.scorer import FEATURES, ThemeParams, ThemeScorer, decide
from pipeline.themes.taxonomy import OTHER, THEMES_FILE, Taxonomy, default_taxonomy

log = logging.getLogger(__name__)

THRESHOLDS = tuple(float(t) for t in np.round(np.arange(0.10, 0.91, 0.05), 2))
L2 = 0.1  # ridge penalty on the feature weights (not on the biases)
FOLDS = 5  # out-of-fold probabilities for the threshold (folds grouped by story)


@dataclass
class ThemeFit:
    params: ThemeParams
    figures: dict  # on the set it was fitted on (in-sample by design), and its out-of-fold figures


def fit_weights(features: np.ndarray, labels: Sequence[str], alternatives: Sequence[Sequence[str]],
                keys: Sequence[str], l2: float = L2) -> tuple[dict[str, float], dict[str, float]]:
    """(weights per feature, bias per theme) of the pooled logistic model."""
    n, k, f = features.shape
    if f != len(FEATURES):
        raise ValueError(f"features have {f} columns, expected {len(FEATURES)} ({', '.join(FEATURES)})")
    rows, ys = [], []
    for i in range(n):
        for t, key in enumerate(keys):
            if key in alternatives[i] and key != labels[i]:
                continue
            rows.append(np.concatenate([features[i, t], np.eye(k)[t]]))
            ys.append(float(labels[i] == key))
    x, y = np.array(rows), np.array(ys)
    w = np.zeros(f + k)
    penalty = np.diag([l2] * f + [1e-6] * k)
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + penalty @ w
        hess = (x * (p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return ({name: float(w[i]) for i, name in enumerate(FEATURES)},
            {key: float(w[f + t]) for t, key in enumerate(keys)})


def measure(articles, assignments) -> dict:
    """Accuracy (acceptable alternatives allowed), off-topic articles given a theme, and precision
    and recall per theme of the primary theme."""
    n = len(articles)
    ok = sum(a.theme_ok(s.theme) for a, s in zip(articles, assignments))
    off = [s for a, s in zip(articles, assignments) if a.theme == OTHER]
    figures = {"articles": n, "accuracy": round(ok / n, 4) if n else 0.0,
               "off_topic": len(off), "off_topic_given_theme": sum(s.theme != OTHER for s in off)}
    keys = sorted({a.theme for a in articles} | {s.theme for s in assignments})
    for key in keys:
        predicted = [a for a, s in zip(articles, assignments) if s.theme == key]
        actual = [s for a, s in zip(articles, assignments) if a.theme == key]
        figures[key] = {
            "precision": round(sum(a.theme_ok(key) for a in predicted) / len(predicted), 4) if predicted else 1.0,
            "recall": round(sum(s.theme == key for s in actual) / len(actual), 4) if actual else 1.0,
        }
    return figures


def threshold_score(articles, assignments) -> float:
    """Accuracy where an off-topic article given a theme counts as two errors."""
    figures = measure(articles, assignments)
    return round(figures["accuracy"] - figures["off_topic_given_theme"] / max(len(articles), 1), 4)


def out_of_fold(features: np.ndarray, articles, keys: Sequence[str], scorer: ThemeScorer) -> np.ndarray | None:
    """Each article's probabilities from weights fitted on the folds without its story; None when
    the stories fall into fewer than FOLDS folds (nothing honest to hold out)."""
    folds = np.array([zlib.crc32(a.story.encode()) % FOLDS for a in articles])
    labels, alternatives = [a.theme for a in articles], [a.alternatives for a in articles]
    if len(set(folds)) < FOLDS:
        return None
    probs = np.zeros(features.shape[:2])
    for fold in range(FOLDS):
        train = np.flatnonzero(folds != fold)
        weights, bias = fit_weights(features[train], [labels[i] for i in train],
                                    [alternatives[i] for i in train], keys)
        probs[folds == fold] = scorer.probabilities(features[folds == fold], ThemeParams(weights, bias, 0.5))
    return probs


def plateau_middle(curve: dict[float, float]) -> float:
    best = max(curve.values())
    good = [t for t, a in curve.items() if a >= best - 0.01]
    return float(np.round(np.median(good) * 20) / 20)


def fit_themes(encoder, exemplars: Exemplars, taxonomy: Taxonomy | None = None) -> ThemeFit:
    """Weights, biases and threshold for ``encoder`` fitted on the labelled ``exemplars`` (each
    article's neighbours evidence without its own story, as a new article has none in the set)."""
    taxonomy = taxonomy or default_taxonomy()
    scorer = ThemeScorer(taxonomy, encoder, exemplars=exemplars)
    articles = exemplars.articles
    feats = scorer.features(exemplars.vectors, [a.title for a in articles], [a.body for a in articles],
                            [a.language for a in articles], own_stories=exemplars.stories)
    return fit_features(scorer, feats, articles, taxonomy.digest, exemplars.digest)


def fit_features(scorer: ThemeScorer, feats: np.ndarray, articles, digest: str = "", exemplars: str = "") -> ThemeFit:
    """The fit from already computed evidence (``scorer.features``) of labelled ``articles``."""
    weights, bias = fit_weights(feats, [a.theme for a in articles], [a.alternatives for a in articles], scorer.keys)
    probs = scorer.probabilities(feats, ThemeParams(weights, bias, 0.5))
    held_out = out_of_fold(feats, articles, scorer.keys, scorer)
    # too few stories to hold any out: the threshold is picked in-sample, and said to be
    curve = {t: threshold_score(articles, [decide(scorer.keys, p, t, scorer.outranks)
                                           for p in (probs if held_out is None else held_out)])
             for t in THRESHOLDS}
    params = ThemeParams(weights, bias, plateau_middle(curve), digest, exemplars)
    figures = measure(articles, [decide(scorer.keys, p, params.threshold, scorer.outranks) for p in probs])
    if held_out is None:
        figures["threshold_from"] = "in-sample"
    else:
        figures["threshold_from"] = "out-of-fold"
        figures["out_of_fold"] = measure(articles, [decide(scorer.keys, p, params.threshold, scorer.outranks)
                                                    for p in held_out])
    figures["score_by_threshold"] = {f"{t:.2f}": a for t, a in curve.items()}
    return ThemeFit(params, figures)




# --------------------------------------------------------------------------- per model, in the database

class CalibrationError(UserError):
    """A model has no calibration and none can be made."""


FILE_FORMAT = "newsmon-calibration/1"
# Calibrations shipped for bundled models lie in SHIPPED_DIR (`newsmon calibrate --export`, checked
# against a fresh fit by tests/unit/test_themes.py), so that a new database needs no fitting for the
# default model.
_FITS: dict[tuple, ThemeFit] = {}  # (model, encoder object, taxonomy file version, theme set) -> fit


def fit_dev(encoder, exemplars: Exemplars | None = None) -> ThemeFit:
    """The fit on the shipped theme set (cached per process: same encoder, same taxonomy)."""
    if not theme_set()[0]:
        raise CalibrationError(
            f"embedding model {encoder.name} has no calibration and the labelled development set "
            f"({DEV_FILES[0].parent}) is not installed: import one with `newsmon calibrate --import FILE`")
    exemplars = exemplars or exemplars_of(encoder)
    key = (encoder.name, id(encoder), THEMES_FILE.stat().st_mtime, exemplars.digest)
    if key not in _FITS:
        _FITS[key] = fit_themes(encoder, exemplars)
    return _FITS[key]


_WARNED_SHIPPED: set[Path] = set()  # shipped files already reported unusable (once per process)


def shipped_calibration(model: str) -> dict | None:
    """The calibration file shipped for a bundled model, or None. Theme weights for other evidence
    than this version's (an older file) are left out with a warning: the themes are then fitted on
    the development set, as for a stored calibration of an older newsmon."""
    path = SHIPPED_DIR / f"{model}.json"
    if "/" in model or not path.is_file():
        return None
    data = read_calibration_file(path, check_themes=False)
    themes = data["params"].get("themes")
    if themes is not None and _themes_problem(themes):
        if path not in _WARNED_SHIPPED:
            _WARNED_SHIPPED.add(path)
            log.warning("the theme calibration shipped for %s (%s) %s: fitting the themes on the development set",
                        model, path.name, _themes_problem(themes))
        data["params"] = {k: v for k, v in data["params"].items() if k != "themes"}
        data["dev_figures"] = {k: v for k, v in (data.get("dev_figures") or {}).items() if k != "themes"}
    return data


def _themes_problem(themes) -> str | None:
    """Why a file's theme parameters cannot be used by this version, or None."""
    try:
        ThemeParams.from_json(themes)
    except (KeyError, TypeError, ValueError, AttributeError):
        return f"is incomplete (weights needed: {', '.join(FEATURES)})"
    return None


def read_calibration_file(path: Path, check_themes: bool = True) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"calibration file {path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != FILE_FORMAT or not isinstance(data.get("params"), dict):
        raise UserError(f"calibration file {path}: not a newsmon calibration (expected format {FILE_FORMAT})")
    if check_themes and "themes" in data["params"] and _themes_problem(data["params"]["themes"]):
        raise UserError(f"calibration file {path}: params.themes {_themes_problem(data['params']['themes'])}")
    return data


def fitted_with_this_taxonomy(themes: dict | None) -> bool:
    """Whether theme parameters (as stored or shipped) were fitted with this very themes file, on
    this very labelled theme set."""
    return (bool(themes) and themes.get("taxonomy") == default_taxonomy().digest
            and themes.get("exemplars") == theme_set()[1])


def theme_scorer(pool, encoder, taxonomy: Taxonomy | None = None) -> ThemeScorer:
    """The scorer of the encoder's model: its exemplars and its calibrated parameters."""
    exemplars = exemplars_for(pool, encoder)
    return ThemeScorer(taxonomy or default_taxonomy(), encoder, theme_params(pool, encoder, exemplars), exemplars)


def theme_params(pool, encoder, exemplars: Exemplars | None = None) -> ThemeParams:
    """The stored theme parameters of the encoder's model; the first time a model is used they
    come from the calibration shipped for it, else they are fitted on the development set, and
    are stored."""
    with pool.connection() as conn:
        stored = calibration_store.load(conn, encoder.name)
    if stored and stored.themes and set(stored.themes.get("weights") or ()) == set(FEATURES):
        if not fitted_with_this_taxonomy(stored.themes):
            log.warning("the theme calibration of %s was fitted with another version of themes.yaml, of "
                        "its keyword matching or of the labelled theme set: run `newsmon calibrate` to refit it",
                        encoder.name)
        return ThemeParams.from_json(stored.themes)
    if stored and stored.themes:  # weights for another set of evidence (an older newsmon): unusable
        log.warning("the stored theme calibration of %s weighs other evidence than this version "
                    "(%s): replacing it", encoder.name, ", ".join(FEATURES))
    shipped = shipped_calibration(encoder.name)
    if shipped and fitted_with_this_taxonomy(shipped["params"].get("themes")):
        params, figures = ThemeParams.from_json(shipped["params"]["themes"]), shipped["dev_figures"].get("themes", {})
    else:
        fit = fit_dev(encoder, exemplars)
        params, figures = fit.params, fit.figures
        log.info("calibrated the themes for embedding model %s on the development set (accuracy %.3f)",
                 encoder.name, fit.figures["accuracy"])
    with pool.connection() as conn, conn.transaction():
        calibration_store.save(conn, encoder.name, {"themes": params.to_json()}, {"themes": figures})
    return params


__all__ = ["ThemeFit", "CalibrationError", "fit_themes", "fit_features", "fit_weights", "out_of_fold",
           "threshold_score", "FOLDS", "fit_dev", "theme_params", "theme_scorer", "measure",
           "plateau_middle", "read_calibration_file", "shipped_calibration", "fitted_with_this_taxonomy", "THRESHOLDS", "FILE_FORMAT", "SHIPPED_DIR"]
