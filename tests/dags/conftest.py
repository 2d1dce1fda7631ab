"""Airflow for the DAG tests: a private AIRFLOW_HOME with a SQLite metadata database, this
repository's dags/ and plugins/ folders, no example DAGs.

Airflow reads its configuration when it is first imported, so the environment is set here,
at collection time, before any test module imports airflow.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS_FOLDER = REPO / "dags"
PLUGINS_FOLDER = REPO / "plugins"

AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="newsmon-airflow-"))
atexit.register(shutil.rmtree, AIRFLOW_HOME, ignore_errors=True)

AIRFLOW_ENV = {
    "AIRFLOW_HOME": str(AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME}/airflow.db",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
}
if "airflow" in sys.modules:  # pragma: no cover - a test elsewhere imported airflow first
    raise RuntimeError("tests/dags must configure Airflow before it is imported")
os.environ.update(AIRFLOW_ENV)
for path in (str(DAGS_FOLDER), str(PLUGINS_FOLDER)):
    if path not in sys.path:
        sys.path.append(path)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """The SQLite metadata database, migrated once per session (about 3 s)."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True, capture_output=True, text=True, env={**os.environ, **AIRFLOW_ENV}, timeout=180,
    )
    return AIRFLOW_HOME / "airflow.db"


def load_dagbag(path: Path = DAGS_FOLDER):
    """Parse DAG files the way the DAG processor and the task runner do (a bundle DagBag,
    which puts the dags folder on sys.path for ``newsmon_common``)."""
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=str(path), bundle_path=DAGS_FOLDER, bundle_name="dags-folder")
