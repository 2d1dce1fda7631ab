"""CPU time of every process on the machine while a bench runs, by role (Airflow scheduler,
api-server, Celery worker, task, Postgres, ...): a thread reads psutil every ``interval`` seconds
and adds each process's CPU since the last read to its role. A process that ends between two
reads loses at most one interval of CPU.

    with ProcessCpu() as cpu:
        ...
    cpu.report("title")
"""

from __future__ import annotations

import threading
from collections import Counter

import psutil

# (substring of the command line or process title, role): the first that matches wins
_ROLES = (
    ("postgres", "postgres"),
    ("redis-server", "redis"),
    ("airflow worker --", "task (the newsmon stage)"),  # the task process's title
    ("task runner", "task (the newsmon stage)"),
    ("task supervisor", "task: supervisor"),
    ("scheduler", "airflow scheduler"),
    ("api-server", "airflow api-server"),
    ("api_server", "airflow api-server"),
    ("uvicorn", "airflow api-server"),
    ("dag-processor", "airflow dag-processor"),
    ("dag_processor", "airflow dag-processor"),
    ("triggerer", "airflow triggerer"),
    ("celery", "celery worker"),
    ("bench/", "bench (page server, samplers)"),
)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far; None when it is gone."""
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def role(cmdline: str) -> str:
    low = cmdline.lower()
    for needle, name in _ROLES:
        if needle in low:
            return name
    return "other: " + cmdline[:60]


class ProcessCpu:
    def __init__(self, interval: float = 0.5):
        self.interval = interval
        self.cpu: Counter = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._last = self._snapshot()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._account()

    def _snapshot(self) -> dict[int, tuple[float, str]]:
        """pid -> (CPU seconds so far, command line or [name]) of every process."""
        out = {}
        for proc in psutil.process_iter(["cmdline", "name", "cpu_times"]):
            times = proc.info["cpu_times"]
            if times is not None:
                out[proc.pid] = (times.user + times.system, " ".join(proc.info["cmdline"] or []) or f"[{proc.info['name']}]")
        return out

    def _account(self) -> None:
        now = self._snapshot()
        for pid, (seconds, cmdline) in now.items():
            before = self._last.get(pid)
            # a new process (or a reused pid): all of its CPU; a process that set a new title
            # keeps its count
            start = before[0] if before and before[0] <= seconds else 0.0
            self.cpu[role(cmdline)] += seconds - start
        self._last = now

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._account()

    def report(self, title: str, wall: float | None = None, top: int = 14) -> None:
        total = sum(self.cpu.values())
        cores = f", {total / wall:.2f} cores on average" if wall else ""
        print(f"\nCPU by process role, {title}: {total:.1f} s in all{cores}")
        for name, seconds in self.cpu.most_common(top):
            print(f"  {seconds:8.1f} s  {name}")
