"""The extraction process pool: workers run ``extract_payload``, one writer thread stores the
results in batches and marks the syndicated copies among them.

trafilatura is not thread-safe, hence processes. A page that kills its worker (a segfault in
lxml) or runs past the per-page timeout (``NEWSMON_EXTRACT_TIMEOUT``: the worker's own alarm
ends it, even inside C code) is retried alone, then recorded as failed; the other pages go on in
a fresh pool. Every attempt is counted on the article (``extract_attempts``); a page is never
tried a third time.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import multiprocessing.context as mp_context
import multiprocessing.process as mp_process
import os
import select
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import Future, ProcessPoolExecutor, TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Sequence

from pipeline.infra import processes
from pipeline.infra.batching import BatchWriter, in_transaction
from pipeline.infra.runs import StageResult
from pipeline.ingest.dedup import mark_duplicates
from pipeline.ingest.extract import extract_payload, warm_worker
from pipeline.records import ExtractJob, Extracted
from pipeline.store import articles as article_store

log = logging.getLogger(__name__)

__all__ = ["ExtractionPool", "store_extractions", "WORKER_PRELOAD"]

EXTRACT_BATCH = 100  # results per write transaction
EXTRACT_FLUSH_S = 1.0  # ... or this often, whichever comes first
# Imported once by the fork server; every extraction worker is forked from it ready to work.
WORKER_PRELOAD = [
    "__main__", "pipeline.ingest.extract", "trafilatura", "numpy", "charset_normalizer", "pipeline.ingest.language_model",
]
OWNER_POLL_S = 1.0  # where pidfd_open is missing: how often a worker checks its pool's process


class _ChildrenAllowed:
    """Mixin for a ``Process`` class whose ``start`` also works in a daemonic process.

    An Airflow task under Celery runs in a fork of a prefork pool child, which is daemonic
    (``multiprocessing.current_process().daemon``), and multiprocessing refuses children there
    ("daemonic processes are not allowed to have children") to keep a pool from orphaning them.
    Extraction would then be serial whatever the machine. The workers are ours to end: ``close``
    shuts them down, and ``_init_worker`` makes each one exit when this process is gone (even
    after a SIGKILL). So the flag is lifted while a worker starts.
    (Module-level classes: the process object is pickled to the fork server.)"""

    def start(self):
        # In a Celery prefork child the current process is billiard's (it replaces the stdlib's)
        # and its authkey billiard's AuthenticationString, which refuses to be pickled outside
        # billiard's own spawning ("Pickling an AuthenticationString object is disallowed"); it
        # goes to the fork server with every new worker: the same key, as the stdlib's type
        # (set in the config directly: billiard's setter would wrap it in its own type again).
        current = multiprocessing.current_process()
        key = current._config.get("authkey")
        if key is not None and type(key) is not mp_process.AuthenticationString:
            current._config["authkey"] = mp_process.AuthenticationString(bytes(key))
        self._config["authkey"] = current._config.get("authkey", self._config.get("authkey"))
        config = current._config
        daemonic = config.get("daemon")
        config["daemon"] = False
        try:
            super().start()
        finally:
            config["daemon"] = daemonic


class _SpawnProcess(_ChildrenAllowed, mp_context.SpawnProcess):
    pass


class _SpawnContext(mp_context.SpawnContext):
    Process = _SpawnProcess


if sys.platform != "win32":
    class _ForkServerProcess(_ChildrenAllowed, mp_context.ForkServerProcess):
        pass

    class _ForkServerContext(mp_context.ForkServerContext):
        Process = _ForkServerProcess


def _worker_context():
    """How extraction workers start. ``forkserver`` where the platform has it: one clean
    server process imports trafilatura once (``WORKER_PRELOAD``) and every worker is forked
    from it in milliseconds, sharing those pages; a crashed worker is replaced just as fast.
    Elsewhere ``spawn``. Never plain ``fork``: the parent runs threads (fetchers, pool).
    In a daemonic process too (see ``_ChildrenAllowed``)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = _ForkServerContext()
        ctx.set_forkserver_preload(WORKER_PRELOAD)  # no effect once the server runs
        return ctx
    return _SpawnContext()


def _init_worker(owner_pid: int | None = None) -> None:
    """Worker initializer: warm up, and exit when the pool's process (``owner_pid``) is gone.

    A worker would otherwise outlive a task process killed outright (SIGKILL, a timeout):
    it waits on its call queue forever, and it keeps the fork server alive too (every worker
    holds the server's liveness pipe). The parent-death signal does not help: a worker's
    parent is the fork server, not the pool's process."""
    if owner_pid is not None:
        threading.Thread(target=_exit_with, args=(owner_pid,), name="owner-watch", daemon=True).start()
    warm_worker()


def _exit_with(pid: int) -> None:
    """Block until process ``pid`` has exited, then end this process at once."""
    try:
        fd = os.pidfd_open(pid)  # Linux >= 5.3: readable when the process exits
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        select.select([fd], [], [])
    else:
        while processes.pid_running(pid):
            time.sleep(OWNER_POLL_S)
    os._exit(1)


def _run_limited(extract_fn: Callable[[ExtractJob], dict], timeout_s: float, job: ExtractJob) -> dict:
    """``extract_fn(job)`` in a worker that the kernel ends (SIGALRM, default action) once the
    page has taken ``timeout_s``: a hang in lxml's C code never returns to Python, so only the
    signal's default action can stop it. The pool then sees a dead worker, as after a crash."""
    if not hasattr(signal, "alarm"):
        return extract_fn(job)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(max(1, math.ceil(timeout_s)))
    try:
        return extract_fn(job)
    finally:
        signal.alarm(0)


def _alone_failure(exitcodes: list, timeout_s: float) -> str:
    """Why the page retried alone killed its worker again: the alarm (timeout) or a crash."""
    if hasattr(signal, "SIGALRM") and -signal.SIGALRM in exitcodes:
        return f"extraction timed out twice (over {timeout_s:g} s per attempt)"
    return "extraction process crashed on this page"


def store_extractions(conn, results: Sequence[Extracted], claimer: str | None) -> tuple[int, int]:
    """Write one batch of results (where ``claimer`` still holds the claim) and mark the copies
    among them. Returns (articles written, articles newly marked as copies)."""
    written = set(article_store.write_extractions(conn, results, claimer))
    ok = [r.article_id for r in results if r.status == "ok" and r.article_id in written]
    return len(written), mark_duplicates(conn, ok)


class ExtractionPool:
    """Process pool for ``extract_payload`` plus a writer thread that stores results in batches.

    ``submit`` blocks while too many pages are in flight (back-pressure on the fetchers);
    ``drain`` waits until every submitted page is written. Results are written only while
    this pool's claim (``claimer``) on the article holds. A page that kills its worker is
    retried alone, then recorded as failed; the rest of the pages go on in a fresh pool.

    ``extract_fn``: the function the workers run (a picklable ``ExtractJob -> dict``; tests
    pass one that crashes on purpose)."""

    def __init__(self, rt, workers: int | None = None, *, extract_fn: Callable[[ExtractJob], dict] = extract_payload):
        self.rt = rt
        self.workers = workers or rt.settings.extract_workers or os.cpu_count() or 1
        self.extract_fn = extract_fn
        self.timeout_s = rt.settings.extract_timeout_s
        # Names this pool's claims in ``articles.extract_claimed_by`` (host, process, pool).
        self.claimer = f"{processes.host_name()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.counts = StageResult("extract")
        self.submitted: set[int] = set()
        self._executor: ProcessPoolExecutor | None = None
        self._slots = threading.BoundedSemaphore(self.workers * 8)
        self._pending = 0
        self._idle = threading.Condition()
        self._crashed: list[ExtractJob] = []
        self._writer: BatchWriter[Extracted] | None = None
        self._executor_lock = threading.Lock()
        self._starting: threading.Thread | None = None
        self.written = 0  # results written so far (any status)
        self._on_written: Callable[[int], None] | None = None

    # -- lifecycle
    def __enter__(self) -> "ExtractionPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Start the worker processes in the background (they get ready while other work goes
        on: launching the fork server the first time takes a few hundred ms)."""
        self._start_writer()
        self._starting = threading.Thread(target=self._start_workers, name="extract-start", daemon=True)
        self._starting.start()

    def _start_workers(self) -> None:
        with self._executor_lock:
            if self._executor is None:
                self._executor = self._new_executor(self.workers)
            for _ in range(self.workers):
                self._executor.submit(int)  # workers start on demand: ask each one for something

    def _start(self) -> None:
        with self._executor_lock:  # start() may be creating it in the background
            if self._executor is None:
                self._executor = self._new_executor(self.workers)
        self._start_writer()

    def _start_writer(self) -> None:
        if self._writer is None:
            self._writer = BatchWriter(
                self._write, batch_size=EXTRACT_BATCH, flush_s=EXTRACT_FLUSH_S, name="extract-writer"
            )

    def _new_executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=_worker_context(), initializer=_init_worker, initargs=(os.getpid(),),
            max_tasks_per_child=5000,  # bounds lxml's slow growth
        )

    def close(self) -> None:
        if self._starting is not None:
            self._starting.join()
        try:
            self.drain()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None
            if self._writer is not None:
                writer, self._writer = self._writer, None
                writer.close()  # after the workers: it writes what the last of them returned

    # -- work
    def submit(self, job: ExtractJob) -> None:
        if self._writer is not None:
            self._writer.raise_error()
        if job.article_id in self.submitted:
            return
        self._start()
        self._slots.acquire()
        with self._idle:
            self._pending += 1
        self.submitted.add(job.article_id)
        try:
            try:
                fut = self._executor.submit(_run_limited, self.extract_fn, self.timeout_s, job)
            except BrokenProcessPool:
                # A worker died: this pool is done for. Its pages in flight come back through
                # _done as crashed (retried alone in drain); new pages go to a fresh pool.
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor(self.workers)
                fut = self._executor.submit(_run_limited, self.extract_fn, self.timeout_s, job)
        except BaseException:
            self._finish_one()  # not in flight after all: drain must not wait for it
            raise
        fut.add_done_callback(lambda f, job=job: self._done(f, job))

    def _done(self, fut: Future, job: ExtractJob) -> None:
        try:
            exc = fut.exception()
            if isinstance(exc, BrokenProcessPool):
                self._crashed.append(job)
            else:
                result = Extracted(**fut.result()) if exc is None else (
                    Extracted(job.article_id, "failed", f"extractor error: {exc}"[:500]))
                # On the executor's thread: an error of the writer is for the producer to raise.
                self._writer.put(result, raise_error=False)
        finally:
            self._finish_one()

    def follow_writes(self, on_written: Callable[[int], None] | None) -> None:
        """Call ``on_written(n)`` after each batch of n results is written (a progress bar's
        ``advance``), first with the results written so far; None stops it."""
        self._on_written = on_written
        if on_written is not None and self.written:
            on_written(self.written)

    def hungry(self) -> bool:
        """True when fewer pages are queued than the workers could start on right now."""
        return self._pending < self.workers

    def _finish_one(self) -> None:
        self._slots.release()
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _write(self, batch: list[Extracted]) -> None:
        """The writer thread's work: one batch in one transaction, and the counts."""
        written, duplicates = in_transaction(self.rt.pool, lambda conn: store_extractions(conn, batch, self.claimer))
        for r in batch:
            self.counts.add({"ok": "extracted", "blocked": f"blocked_{r.block_reason}"}.get(r.status, "extract_failed"))
            if r.status == "failed" and len(self.counts.notes) < 50:
                self.counts.notes.append(f"article {r.article_id}: {r.error}")
        if written < len(batch):
            # Claims that ran past the lease and were retaken: the other task's result stands.
            self.counts.add("extract_claims_lost", len(batch) - written)
        self.counts.add("duplicates", duplicates)
        self.written += len(batch)
        if self._on_written is not None:
            self._on_written(len(batch))

    def drain(self) -> None:
        """Wait until everything submitted is extracted and written."""
        if self._writer is None:
            return
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0)
        self._count_processes()
        if self._crashed:
            self._retry_crashed()
        self._writer.flush()

    def _count_processes(self) -> None:
        """``extract_processes``: the most worker processes this pool had at once (so a run
        shows that extraction was parallel, also in a daemonic Celery task process)."""
        executor = self._executor
        running = len(getattr(executor, "_processes", None) or {}) if executor is not None else 0
        self.counts.counts["extract_processes"] = max(self.counts.counts.get("extract_processes", 0), running)

    def _retry_crashed(self) -> None:
        """Pages that were in a pool when a worker died (a crash or the per-page timeout), one
        at a time in a one-worker pool: the page that kills it again is the culprit and is
        recorded as failed; the pool is replaced and the others go on. The retry is counted as
        an attempt; a page already at ``MAX_EXTRACT_ATTEMPTS`` is failed without one."""
        crashed, self._crashed = self._crashed, []
        log.warning("an extraction worker crashed; retrying %d page(s) one at a time", len(crashed))
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        attempts = in_transaction(
            self.rt.pool, lambda conn: article_store.count_attempts(conn, [j.article_id for j in crashed], self.claimer))
        single: ProcessPoolExecutor | None = None
        try:
            for job in sorted(crashed, key=lambda j: j.article_id):
                if job.article_id not in attempts:
                    continue  # the claim was lost: the task that holds it decides
                if attempts[job.article_id] > article_store.MAX_EXTRACT_ATTEMPTS:
                    self._writer.put(Extracted(job.article_id, "failed", (
                        f"extraction process crashed or timed out in {job.attempts} attempts")), raise_error=False)
                    continue
                single = single or self._new_executor(1)
                self.counts.add("extract_retried_alone")
                result, single = self._run_alone(single, job)
                self._writer.put(result, raise_error=False)
        finally:
            if single is not None:
                single.shutdown(wait=True)

    def _run_alone(self, single: ProcessPoolExecutor, job: ExtractJob) -> tuple[Extracted, ProcessPoolExecutor | None]:
        """One page in the one-worker pool; the pool is dropped (None) when the page killed it."""
        fut = single.submit(_run_limited, self.extract_fn, self.timeout_s, job)
        workers = list(getattr(single, "_processes", {}).values())  # to read how the worker ended
        try:
            # The worker's alarm ends a hang; this wait is only a backstop should it not.
            return Extracted(**fut.result(timeout=self.timeout_s * 2 + 30)), single
        except (BrokenProcessPool, FutureTimeout) as exc:
            for worker in workers:
                worker.join(timeout=5)
            hung = isinstance(exc, FutureTimeout)
            codes = [-signal.SIGALRM if hung and hasattr(signal, "SIGALRM") else w.exitcode for w in workers]
            single.shutdown(wait=False, cancel_futures=True)
            for worker in workers:
                if worker.is_alive():
                    worker.kill()
            return Extracted(job.article_id, "failed", _alone_failure(codes, self.timeout_s)), None
        except Exception as exc:
            return Extracted(job.article_id, "failed", f"extractor error: {exc}"[:500]), single
