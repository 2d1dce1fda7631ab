"""The stage registry: the one entry through which the CLI, the demo and the Airflow tasks run a stage.

``STAGES`` maps each stage name to its run function, in the order the main job runs them, the
digest last. ``INGEST_STEPS`` are the parts of ingest that the Airflow DAG runs as separate
tasks (one mapped fetch task per feed batch); each records its own ``stage_runs`` row under
that name.
"""

from __future__ import annotations

from typing import Callable

from pipeline.calibrate import ensure_calibrated
from pipeline.alerts.stage import run_alerts
from pipeline.digest.stage import run_digest
from pipeline.embed.stage import run_embed
from pipeline.indicators.stage import run_indicators
from pipeline.infra.runs import DIGEST_STAGE, PIPELINE_STAGES, StageResult
from pipeline.ingest.stage import extract_pending, fetch_feeds, run_ingest
from pipeline.stories.stage import run_stories
from pipeline.themes.stage import run_themes

StageFunction = Callable[..., StageResult]

# strict: a stage added to PIPELINE_STAGES without its function here fails at import
STAGES: dict[str, StageFunction] = dict(zip(
    (*PIPELINE_STAGES, DIGEST_STAGE),
    (run_ingest, run_embed, run_themes, run_stories, run_indicators, run_digest),
    strict=True,
))

# Stages that need the active model's calibration (pipeline/calibrate.py).
CALIBRATED_STAGES = ("themes", "stories")

INGEST_STEPS: dict[str, StageFunction] = {
    "ingest_fetch": fetch_feeds,
    "ingest_extract": extract_pending,
}


# Jobs on their own schedule, outside the main job's order (DAG newsmon_alerts runs this hourly).
SCHEDULED_JOBS: dict[str, StageFunction] = {"alerts": run_alerts}


def run_stage(rt, name: str, **kwargs) -> StageResult:
    """Run the stage (or ingest step) ``name`` on ``rt``; ``kwargs`` go to its run function."""
    stage = STAGES.get(name) or INGEST_STEPS.get(name) or SCHEDULED_JOBS.get(name)
    if stage is None:
        raise KeyError(f"unknown stage {name!r} (known: {', '.join([*STAGES, *INGEST_STEPS, *SCHEDULED_JOBS])})")
    if name in CALIBRATED_STAGES:  # the first run on a new model calibrates it (or refuses, one line)
        ensure_calibrated(rt, encoder=kwargs.get("encoder"))
    return stage(rt, **kwargs)
