"""Parse time of each DAG file, the way Airflow's DAG processor parses it.

The processor forks a child per file from a parent that has Airflow imported; the child
imports the file (and ``newsmon_common``) from scratch. This bench does the same: for each
file, N forked children each parse it with a bundle DagBag and report the time. A trivial
one-task DAG is measured side by side as the baseline, so the ratio says what newsmon's DAG
files cost beyond Airflow's own per-file overhead (no newsmon module is imported at parse
time: pipeline imports happen inside the tasks).

    .venv/bin/python bench/dag_parse.py [--repeat N]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DAGS = REPO / "dags"

BASELINE = '''
import datetime as dt
from airflow.sdk import dag, task

@dag(dag_id="baseline", schedule=None, start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), catchup=False)
def baseline():
    @task
    def noop():
        return 1
    noop()

baseline()
'''


def _parse_once(path: str, bundle: str, out) -> None:
    from airflow.dag_processing.dagbag import BundleDagBag

    t0 = time.perf_counter()
    bag = BundleDagBag(dag_folder=path, bundle_path=Path(bundle), bundle_name="bench")
    elapsed = time.perf_counter() - t0
    out.send((elapsed, sorted(bag.dag_ids), {k: v.splitlines()[-1] for k, v in bag.import_errors.items()},
              "pipeline.infra.runtime" in sys.modules))
    out.close()


def parse_time(path: Path, bundle: Path, repeat: int) -> tuple[float, list[str], dict, bool]:
    ctx = mp.get_context("fork")
    times, ids, errors, heavy = [], [], {}, False
    for _ in range(repeat):
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_parse_once, args=(str(path), str(bundle), send))
        proc.start()
        elapsed, ids, errors, heavy = recv.recv()
        proc.join()
        times.append(elapsed)
    return statistics.median(times), ids, errors, heavy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("AIRFLOW_HOME", tmp)
        os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{tmp}/unused.db")
        os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        import airflow.sdk  # noqa: F401  - the processor's parent has Airflow imported
        from airflow.dag_processing.dagbag import BundleDagBag  # noqa: F401

        base_dir = Path(tmp) / "baseline"
        base_dir.mkdir()
        (base_dir / "baseline.py").write_text(BASELINE)
        base, _, _, _ = parse_time(base_dir / "baseline.py", base_dir, args.repeat)
        print(f"{'file':<28}{'DAGs':<22}{'median ms':>10}{'x baseline':>12}")
        print(f"{'(trivial one-task DAG)':<28}{'baseline':<22}{base * 1000:>10.1f}{1.0:>12.2f}")
        worst = 0.0
        files = sorted(p for p in DAGS.glob("*.py") if p.name != "newsmon_common.py")
        for path in files:
            median, ids, errors, heavy = parse_time(path, DAGS, args.repeat)
            worst = max(worst, median / base)
            print(f"{path.name:<28}{','.join(ids) or '-':<22}{median * 1000:>10.1f}{median / base:>12.2f}")
            if errors:
                print(f"  import errors: {errors}")
                return 1
            if heavy:
                print("  warning: the pipeline package was imported at parse time")
        print(f"worst DAG file parses in {worst:.2f}x the time of a trivial DAG "
              f"({args.repeat} forked parses each, median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
