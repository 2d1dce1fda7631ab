"""After an outage: `newsmon feeds retry [NAME ...] [--all-failed]`, the ``retry_failed`` param
of the newsmon_ingest DAG and the plugin's "retry" action all run ``retry_failed``.

It makes the next run try again at once, instead of waiting out every backoff:

- failing feeds in backoff become due (their ``next_check_at`` is cleared);
- pages given up after repeated transient failures are pending again, attempts from zero,
  and pending pages waiting out a backoff are fetched on the next run;
- extraction claims whose owner is gone are released, so their pages are not held for the
  rest of the lease (15 min). A claimer is ``host:pid:token``: on this host a claimer whose
  process no longer runs is gone; a claimer on another host is kept unless
  ``release_all_claims`` (safe even for a live owner: an extraction result is written only
  while its claimer still holds the claim, so a released live claim costs work, never a
  duplicate).

Nothing is fetched here; the next run (hourly, or `newsmon ingest`, or a triggered DAG run)
does the work. One transaction: all of it or nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Sequence

from pipeline.infra import processes
from pipeline.infra.config import UserError
from pipeline.store import recovery as recovery_store

__all__ = ["RetryReport", "UnknownFeedError", "owner_gone", "retry_failed", "retry_failed_in", "run_retry_command"]


class UnknownFeedError(UserError):
    """A feed name that is not in the database: nothing was changed."""


@dataclass
class RetryReport:
    feeds_cleared: list[str] = field(default_factory=list)
    pages_requeued: int = 0
    page_backoffs_cleared: int = 0
    claims_released: int = 0
    claimers_released: list[str] = field(default_factory=list)
    claims_kept: dict[str, int] = field(default_factory=dict)  # claimer -> pages, owner maybe alive

    def lines(self) -> list[str]:
        feeds = ", ".join(self.feeds_cleared[:20]) + (" ..." if len(self.feeds_cleared) > 20 else "")
        out = [
            f"feeds: {len(self.feeds_cleared)} taken out of backoff" + (f" ({feeds})" if feeds else ""),
            f"pages: {self.pages_requeued} given-up page(s) pending again, "
            f"{self.page_backoffs_cleared} page backoff(s) cleared",
            f"claims: {self.claims_released} page claim(s) released"
            + (f" (owners gone: {', '.join(self.claimers_released)})" if self.claimers_released else ""),
        ]
        if self.claims_kept:
            kept = ", ".join(f"{c} ({n})" for c, n in sorted(self.claims_kept.items()))
            out.append(f"claims kept (owner may be alive; released after the lease, or with --release-claims): {kept}")
        out.append("the next run (newsmon ingest, or the newsmon_ingest DAG) fetches and extracts them")
        return out

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def owner_gone(claimer: str, *, host: str | None = None,
               pid_running: Callable[[int], bool] = processes.pid_running) -> bool | None:
    """True when the claimer's process is known to be gone, None when that cannot be told
    from here (another host, or a claimer string of another shape)."""
    parts = claimer.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    claim_host, pid = parts[0], int(parts[1])
    if claim_host != (host if host is not None else processes.host_name()):
        return None
    return not pid_running(pid)


def retry_failed_in(conn, feeds: Sequence[str] | None, *, release_all_claims: bool = False,
                    host: str | None = None, pid_running: Callable[[int], bool] = processes.pid_running) -> RetryReport:
    """The work of ``retry_failed`` in the caller's transaction (the plugin's connection)."""
    if feeds is not None:
        known = set(recovery_store.known_feed_names(conn, feeds))
        unknown = [name for name in feeds if name not in known]
        if unknown:
            raise UnknownFeedError(f"unknown feed(s): {', '.join(unknown[:10])} (see analytics.feed_health)")
    report = RetryReport()
    report.feeds_cleared = recovery_store.clear_feed_backoff(conn, feeds)
    report.pages_requeued = recovery_store.requeue_given_up_pages(conn, feeds)
    report.page_backoffs_cleared = recovery_store.clear_page_backoff(conn, feeds)
    release = []
    for holder in recovery_store.claim_holders(conn):
        if release_all_claims or owner_gone(holder.claimer, host=host, pid_running=pid_running):
            release.append(holder.claimer)
        else:
            report.claims_kept[holder.claimer] = holder.pages
    report.claims_released = recovery_store.release_claims(conn, release)
    report.claimers_released = sorted(release)
    return report


def retry_failed(rt, names: Sequence[str] = (), *, all_failed: bool = False,
                 release_all_claims: bool = False) -> RetryReport:
    """Retry now what failed: ``names`` (feed names) or every feed with ``all_failed``."""
    if not names and not all_failed:
        raise UserError("name the feeds to retry, or pass --all-failed for every failing feed")
    feeds = None if all_failed else list(dict.fromkeys(names))
    with rt.pool.connection() as conn, conn.transaction():
        return retry_failed_in(conn, feeds, release_all_claims=release_all_claims)


def run_retry_command(rt, args) -> int:
    """`newsmon feeds retry`: do it and print what was done."""
    report = retry_failed(rt, args.names, all_failed=args.all_failed, release_all_claims=args.release_claims)
    for line in report.lines():
        print(line)
    return 0
