"""A real Airflow for tests: api-server, scheduler (LocalExecutor), dag-processor and triggerer
as subprocesses, metadata in a fresh database on the embedded Postgres, AIRFLOW_HOME in a temp
folder, this repository's dags/ and plugins/.

Every process it starts carries a marker in its environment; ``stop()`` ends the process
groups it started and then every process that still carries the marker or descends from them
(task processes included), by pid, so nothing outlives the test.

Faults (tests/dags/test_celery_faults.py): ``kill`` SIGKILLs a component with every process it
started, as a crash or ``docker kill`` would (``kill_worker`` for a Celery worker);
``start_redis``, ``start_scheduler`` and ``start_worker`` bring one back.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.dags.celery_hostname import WORKER_NAME_VAR
from tests.dags.conftest import DAGS_FOLDER, PLUGINS_FOLDER, REPO

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
MARKER = "NEWSMON_TEST_AIRFLOW_CLUSTER"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def marked_pids(marker_value: str, also: str | None = None) -> list[int]:
    """Live processes whose environment carries this cluster's marker (and ``also``, a
    ``NAME=value`` entry, e.g. one worker's name)."""
    needles = [f"{MARKER}={marker_value}".encode()] + ([also.encode()] if also else [])
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            if all(needle in environ for needle in needles):
                status = (entry / "status").read_text()
                if "\nState:\tZ" not in status:  # zombies are already gone
                    out.append(int(entry.name))
        except OSError:
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_tree(root: int) -> set[int]:
    """``root`` and its live descendants. Found by parentage, not by the marker: a process that
    called setproctitle (Celery's pool children, Airflow's task runner) has overwritten the
    environment that /proc shows, and the task runner has a process group of its own."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (parent := _parent_of(int(entry.name))) is not None:
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = {root}, [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in tree and _alive(child):
                tree.add(child)
                todo.append(child)
    return tree


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


class AirflowCluster:
    """``celery_workers``: run the CeleryExecutor (as the compose stack does) with a private
    redis-server as broker, the metadata database as result backend, and this many
    ``airflow celery worker`` processes (prefork pool, ``worker_concurrency`` each)."""

    def __init__(self, pg_server, home: Path, env: dict[str, str], *, celery_workers: int = 0,
                 worker_concurrency: int = 1):
        self.home = home
        self.celery_workers = celery_workers
        self.worker_concurrency = worker_concurrency
        self.redis_port = free_port()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.marker = uuid.uuid4().hex
        self.db_name = f"airflow_{self.marker[:12]}"
        self._admin_url = pg_server.url("postgres")
        self.metadata_url = pg_server.url(self.db_name)
        self.password = "admin-test-password"
        self.procs: dict[str, subprocess.Popen] = {}
        self.ended: list[subprocess.Popen] = []  # killed on purpose (fault tests); reaped in stop()
        self._token: str | None = None
        home.mkdir(parents=True, exist_ok=True)
        (home / "passwords.json").write_text(json.dumps({"admin": self.password}))
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.env = {
            **base,
            MARKER: self.marker,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.metadata_url.replace("postgresql://", "postgresql+psycopg://", 1),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base_url}/execution/",
            "AIRFLOW__CORE__FERNET_KEY": "LwqhbttecUfK5-xnmt07vx7zS9me_5i9MaDF8vwjz8Q=",
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base_url,
            "AIRFLOW__API_AUTH__JWT_SECRET": f"test-{self.marker}",
            "AIRFLOW__API__SECRET_KEY": f"test-{self.marker}",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__TRIGGERER__CAPACITY": "10",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            **env,
        }
        if celery_workers:
            self.env.update({
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.metadata_url,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(worker_concurrency),
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.dags.celery_hostname.worker_hostname",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
            })

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "AirflowCluster":
        with psycopg.connect(self._admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.db_name}")
        self._airflow(["db", "migrate"], timeout=180)
        if self.celery_workers:
            self.start_redis()
        for name in COMPONENTS:
            args = [name] + (["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
                             if name == "api-server" else [])
            self._spawn(name, [sys.executable, "-m", "airflow", *args])
        for i in range(1, self.celery_workers + 1):
            self.start_worker(f"worker-{i}")
        return self

    def start_worker(self, name: str) -> subprocess.Popen:
        """One ``airflow celery worker`` (prefork pool), its task instances' hostname ``name``."""
        return self._spawn(name, [sys.executable, "-m", "airflow", "celery", "worker", "--celery-hostname",
                                  f"{name}@%h", "--concurrency", str(self.worker_concurrency),
                                  "--skip-serve-logs", "--without-mingle", "--without-gossip"],
                           {WORKER_NAME_VAR: name})

    def _spawn(self, name: str, argv: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        with open(self.home / f"{name}.log", "ab") as log:
            self.procs[name] = subprocess.Popen(
                argv, env={**self.env, **(extra_env or {})}, cwd=self.home,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        return self.procs[name]

    def _airflow(self, args: list[str], timeout: float) -> str:
        proc = subprocess.run([sys.executable, "-m", "airflow", *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout, cwd=self.home)
        if proc.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed: {proc.stderr[-3000:]}")
        return proc.stdout

    def start_redis(self) -> subprocess.Popen:
        """The broker (again: a restarted redis-server on the same port, empty: no persistence)."""
        return self._spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                     "--save", "", "--appendonly", "no", "--dir", str(self.home)])

    def start_scheduler(self) -> subprocess.Popen:
        return self._spawn("scheduler", [sys.executable, "-m", "airflow", "scheduler"])

    def kill(self, name: str, *, also: str | None = None) -> list[int]:
        """SIGKILL component ``name`` as a crash or ``docker kill`` would: its process group and
        every process of the cluster whose environment also holds ``also`` (a worker's task
        processes run in sessions of their own). Returns once they are all gone: the pids."""
        proc = self.procs.pop(name)
        self.ended.append(proc)
        # Freeze first (SIGSTOP), until no new process turns up, so that nothing forks or is
        # re-parented out of sight meanwhile; then kill them all at once.
        frozen: set[int] = set()
        while new := (process_tree(proc.pid) | set(marked_pids(self.marker, also) if also else ())) - frozen:
            for pid in new:
                _signal(pid, signal.SIGSTOP)
            frozen |= new
        for pid in frozen:
            _signal(pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while (alive := [pid for pid in frozen if _alive(pid)]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive, f"killed processes of {name} still alive: {alive}"
        return sorted(frozen)

    def component_of(self, pid: int) -> str | None:
        """The component (e.g. ``worker-1``) that process ``pid`` descends from."""
        roots = {proc.pid: name for name, proc in self.procs.items()}
        while pid and pid not in roots:
            pid = _parent_of(pid) or 0
        return roots.get(pid)

    def kill_worker(self, name: str) -> list[int]:
        """SIGKILL a Celery worker with everything it started (task and extraction processes)."""
        return self.kill(name, also=f"{WORKER_NAME_VAR}={name}")

    def stop(self) -> list[int]:
        """End everything this cluster started; returns pids that had to be killed late."""
        for proc in self.ended:
            if proc.poll() is None:
                proc.wait(timeout=10)
        # their descendants too: a task runner has a process group of its own and, after
        # setproctitle, no marker to find it by (the start time tells a reused pid apart)
        tree = {pid: _start_time(pid) for proc in self.procs.values() for pid in process_tree(proc.pid)}
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
        stragglers = sorted(set(marked_pids(self.marker))
                            | {pid for pid, started in tree.items() if _alive(pid) and _start_time(pid) == started})
        for pid in stragglers:  # e.g. a task process in a process group of its own
            _signal(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while (marked_pids(self.marker) or any(_alive(pid) for pid in stragglers)) and time.monotonic() < deadline:
            time.sleep(0.2)
        try:
            with psycopg.connect(self._admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
        except psycopg.Error:
            pass
        return stragglers

    def __enter__(self) -> "AirflowCluster":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ diagnostics

    def logs(self, tail: int = 4000) -> str:
        parts = []
        for name in self.procs:
            path = self.home / f"{name}.log"
            if path.exists():
                parts.append(f"----- {name} -----\n" + path.read_text(errors="replace")[-tail:])
        task_logs = sorted((self.home / "logs").rglob("*.log")) if (self.home / "logs").exists() else []
        for path in task_logs[-8:]:
            parts.append(f"----- {path.relative_to(self.home)} -----\n" + path.read_text(errors="replace")[-tail:])
        return "\n".join(parts)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise AssertionError(f"airflow {name} exited with {proc.returncode}\n{self.logs()}")

    # ------------------------------------------------------------------ REST API

    def wait_until(self, predicate, timeout: float, what: str, interval: float = 1.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{self.logs()}")

    def wait_ready(self, timeout: float = 120) -> None:
        def up():
            try:
                return httpx.get(f"{self.base_url}/api/v2/version", timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        self.wait_until(up, timeout, "the API server")

    def token(self) -> str:
        if self._token is None:
            resp = httpx.post(f"{self.base_url}/auth/token", json={"username": "admin", "password": self.password},
                              timeout=30)
            assert resp.status_code == 201, resp.text
            self._token = resp.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, *, auth: bool = True, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        return httpx.request(method, f"{self.base_url}{path}", headers=headers, timeout=30, **kwargs)

    def api(self, method: str, path: str, **kwargs) -> Any:
        resp = self.request(method, path, **kwargs)
        assert resp.status_code < 300, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 120) -> None:
        def parsed():
            return all(self.request("GET", f"/api/v2/dags/{d}").status_code == 200 for d in dag_ids)

        self.wait_until(parsed, timeout, f"the DAG processor to parse {dag_ids}", interval=2)

    def start_newsmon(self, dag_ids: tuple[str, ...] = ("newsmon_ingest", "newsmon_stories")) -> None:
        """Start the components, create the embed pool (as airflow-init does) and unpause the
        DAGs (ingest and stories) once they are parsed."""
        self.start()
        self.wait_ready()
        self.api("POST", "/api/v2/pools", json={"name": "newsmon_embed", "slots": 1,
                                                "description": "newsmon: concurrent embedding tasks"})
        self.wait_for_dags(list(dag_ids))
        for dag_id in dag_ids:
            self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """Trigger a run through the REST API; its run id."""
        run = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return run["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> dict:
        def finished():
            run = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
            return run if run["state"] in {"success", "failed"} else None

        return self.wait_until(finished, timeout, f"{dag_id} run {run_id}", interval=2)

    def end_run(self, dag_id: str, run_id: str) -> None:
        """Mark a run that a failed test left unfinished as failed (one run at a time per DAG)."""
        run = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        if run["state"] not in {"success", "failed"}:
            self.api("PATCH", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}", json={"state": "failed"})

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1):
        """The return value of a task instance's latest try."""
        entry = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/"
                                "return_value", params={"map_index": map_index, "deserialize": True})
        return entry["value"]

    def metadata(self, query: str, *params) -> list[tuple]:
        """Rows of a query on the Airflow metadata database (what the REST API does not show)."""
        with psycopg.connect(self.metadata_url, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        items = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else ""): t["state"] for t in items}
