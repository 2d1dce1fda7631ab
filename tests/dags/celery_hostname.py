"""``[core] hostname_callable`` of the test cluster's Celery workers: two workers on one
machine would otherwise record the same hostname on their task instances. Imported by the task
processes, so it imports nothing of the tests' Airflow set-up."""

from __future__ import annotations

import os
import socket

WORKER_NAME_VAR = "NEWSMON_TEST_WORKER_NAME"


def worker_hostname() -> str:
    return os.environ.get(WORKER_NAME_VAR) or socket.getfqdn()
