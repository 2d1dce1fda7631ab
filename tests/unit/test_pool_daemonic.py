"""Extraction workers in a daemonic process with billiard's authkey (an Airflow task under
Celery's prefork pool): the pool still starts worker processes there, and they die with the
process that started them."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

from pipeline.ingest.pool import _init_worker, _worker_context


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _pool_in_daemonic_process(report, hold: bool) -> None:
    """Runs in a daemonic process: start two extraction workers, report their pids, then
    either finish cleanly or wait to be killed."""
    from concurrent.futures import ProcessPoolExecutor

    import billiard.process

    # as in a Celery prefork child: the current process is billiard's (authkey of billiard's type,
    # which refuses the stdlib's pickling), and daemonic
    billiard_process = billiard.process.current_process()
    billiard.process._set_current_process(billiard_process)
    billiard_process._config["daemon"] = True
    assert multiprocessing.current_process() is billiard_process
    daemonic = multiprocessing.current_process().daemon
    with ProcessPoolExecutor(max_workers=2, mp_context=_worker_context(), initializer=_init_worker,
                             initargs=(os.getpid(),)) as pool:
        # enough calls, each holding its worker briefly, that both workers answer
        pids = set()
        while len(pids) < 2:
            pids |= set(pool.map(_slow_pid, range(4)))
        report.put((daemonic, multiprocessing.current_process().daemon, sorted(pids)))
        if hold:
            signal.pause()


def _slow_pid(_: int) -> int:
    time.sleep(0.05)
    return os.getpid()


def test_workers_start_in_a_daemonic_process_and_the_flag_is_kept():
    ctx = multiprocessing.get_context("spawn")
    report = ctx.Queue()
    proc = ctx.Process(target=_pool_in_daemonic_process, args=(report, False), daemon=True)
    proc.start()
    daemonic_before, daemonic_after, pids = report.get(timeout=120)
    proc.join(timeout=60)
    assert proc.exitcode == 0
    assert daemonic_before is True and daemonic_after is True  # lifted only while a worker starts
    assert len(pids) == 2 and proc.pid not in pids


def test_workers_die_with_a_daemonic_parent_killed_outright():
    ctx = multiprocessing.get_context("spawn")
    report = ctx.Queue()
    proc = ctx.Process(target=_pool_in_daemonic_process, args=(report, True), daemon=True)
    proc.start()
    _, _, pids = report.get(timeout=120)
    assert all(_alive(p) for p in pids)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=30)
    deadline = time.monotonic() + 60  # a bound for the wait, not an assertion on time
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in pids if _alive(p)] == []

