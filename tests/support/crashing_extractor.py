"""An extraction function for tests: it kills its worker process (``os._exit``, as a segfault
in lxml would) on a page that contains ``MARKER``, and logs every page it is given."""

from __future__ import annotations

import os

from pipeline.ingest.extract import decompress, extract_payload
from pipeline.records import ExtractJob

MARKER = b"CRASH-THIS-WORKER"


def crash_on_marker(log_path: str, job: ExtractJob) -> dict:
    """Use as ``functools.partial(crash_on_marker, log_path)`` (picklable for the pool)."""
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"{job.article_id}\n")
    if MARKER in decompress(job.body_gz):
        os._exit(3)
    return extract_payload(job)


def hang_on_marker(log_path: str, job: ExtractJob) -> dict:
    """Like ``crash_on_marker``, but the page with ``MARKER`` hangs its worker (as a pathological
    page can hang lxml) until the pool's per-page timeout ends it."""
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"{job.article_id}\n")
    if MARKER in decompress(job.body_gz):
        while True:
            pass
    return extract_payload(job)
