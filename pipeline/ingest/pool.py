"""The extraction process pool: workers run ``extract_payload``, one writer thread stores the
results in batches and marks the syndicated copies among them.

trafilatura is not thread-safe, hence processes. A page that kills its worker (a segfault in
lxml) is retried alone, then recorded as failed; the other pages go on in a fresh pool.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import threading
import uuid
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Sequence

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
WORKER_PRELOAD = ["__main__", "pipeline.ingest.extract", "trafilatura", "numpy", "charset_normalizer"]


def _worker_context():
    """How extraction workers start. ``forkserver`` where the platform has it: one clean
    server process imports trafilatura once (``WORKER_PRELOAD``) and every worker is forked
    from it in milliseconds, sharing those pages; a crashed worker is replaced just as fast.
    Elsewhere ``spawn``. Never plain ``fork``: the parent runs threads (fetchers, pool)."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(WORKER_PRELOAD)  # no effect once the server runs
        return ctx
    return multiprocessing.get_context("spawn")


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
        # Names this pool's claims in ``articles.extract_claimed_by`` (host, process, pool).
        self.claimer = f"{socket.gethostname()[:100]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
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

    # -- lifecycle
    def __enter__(self) -> "ExtractionPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Start the worker processes in the background (they get ready while other work goes
        on: launching the fork server the first time takes a few hundred ms)."""
        if multiprocessing.current_process().daemon:
            return
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
            max_workers=workers, mp_context=_worker_context(), initializer=warm_worker,
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
        if multiprocessing.current_process().daemon:
            # A daemonic process (e.g. a Celery prefork child) may not start children: extract here.
            self._start_writer()
            self.submitted.add(job.article_id)
            self._writer.put(Extracted(**self.extract_fn(job)))
            return
        self._start()
        self._slots.acquire()
        with self._idle:
            self._pending += 1
        self.submitted.add(job.article_id)
        try:
            fut = self._executor.submit(self.extract_fn, job)
        except BrokenProcessPool:
            # A worker died: this pool is done for. Its pages in flight come back through
            # _done as crashed (retried alone in drain); new pages go to a fresh pool.
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor(self.workers)
            fut = self._executor.submit(self.extract_fn, job)
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
            self.counts.add("extracted" if r.status == "ok" else "extract_failed")
            if r.status != "ok" and len(self.counts.notes) < 50:
                self.counts.notes.append(f"article {r.article_id}: {r.error}")
        if written < len(batch):
            # Claims that ran past the lease and were retaken: the other task's result stands.
            self.counts.add("extract_claims_lost", len(batch) - written)
        self.counts.add("duplicates", duplicates)

    def drain(self) -> None:
        """Wait until everything submitted is extracted and written."""
        if self._writer is None:
            return
        with self._idle:
            self._idle.wait_for(lambda: self._pending == 0)
        if self._crashed:
            self._retry_crashed()
        self._writer.flush()

    def _retry_crashed(self) -> None:
        """Pages that were in a pool when a worker died, one at a time in a one-worker pool:
        the page that kills it again is the culprit and is recorded as failed; the pool is
        replaced and the others go on."""
        crashed, self._crashed = self._crashed, []
        log.warning("an extraction worker crashed; retrying %d page(s) one at a time", len(crashed))
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        single: ProcessPoolExecutor | None = None
        try:
            for job in sorted(crashed, key=lambda j: j.article_id):
                single = single or self._new_executor(1)
                self.counts.add("extract_retried_alone")
                try:
                    result = Extracted(**single.submit(self.extract_fn, job).result())
                except BrokenProcessPool:
                    result = Extracted(job.article_id, "failed", "extraction process crashed on this page")
                    single.shutdown(wait=False, cancel_futures=True)
                    single = None
                except Exception as exc:
                    result = Extracted(job.article_id, "failed", f"extractor error: {exc}"[:500])
                self._writer.put(result, raise_error=False)
        finally:
            if single is not None:
                single.shutdown(wait=True)
