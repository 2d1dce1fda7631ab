"""Progress reporting for long stages: rich bars in the CLI, log lines elsewhere (Airflow)."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Iterator, Protocol

log = logging.getLogger("newsmon.progress")


class Tracker(Protocol):
    def advance(self, n: int = 1) -> None: ...
    def set_total(self, total: int) -> None: ...


class Reporter(Protocol):
    def task(self, description: str, total: int | None = None): ...


class _LogTracker:
    def __init__(self, description: str, total: int | None):
        self.description, self.total, self.done = description, total, 0
        self._next_pct, self._last = 10, time.monotonic()

    def set_total(self, total: int) -> None:
        self.total = total

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.total:
            pct = 100 * self.done // self.total
            if pct >= self._next_pct:
                log.info("%s: %d/%d (%d%%)", self.description, self.done, self.total, pct)
                self._next_pct = (pct // 10 + 1) * 10
        elif now - self._last > 10:
            log.info("%s: %d done", self.description, self.done)
            self._last = now


class LogReporter:
    """Progress as log lines every 10 % (what an Airflow task log shows)."""

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[_LogTracker]:
        tracker = _LogTracker(description, total)
        log.info("%s: started%s", description, f" ({total} items)" if total else "")
        yield tracker
        log.info("%s: finished, %d item(s)", description, tracker.done)


class _RichTracker:
    def __init__(self, progress, task_id):
        self._p, self._id = progress, task_id

    def set_total(self, total: int) -> None:
        self._p.update(self._id, total=total)

    def advance(self, n: int = 1) -> None:
        self._p.advance(self._id, n)


class RichReporter:
    """Rich progress bars on stderr, for the CLI."""

    def __init__(self):
        from rich.console import Console

        self.console = Console(stderr=True)

    @contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[_RichTracker]:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=self.console, transient=False,
        ) as progress:
            task_id = progress.add_task(description, total=total)
            yield _RichTracker(progress, task_id)


class NullReporter:
    @contextmanager
    def task(self, description: str, total: int | None = None):
        class _T:
            def advance(self, n: int = 1) -> None: ...
            def set_total(self, total: int) -> None: ...

        yield _T()
