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
