"""Help texts of the ``newsmon`` command line: a description and examples per (sub)command.

Kept apart from ``cli.py`` so the parser stays readable, and applied after the parser is
built (``decorate``): a subcommand another module adds gets its text here too, and
tests/unit/test_cli.py fails when a subcommand has none.
"""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass

DATE_FORMAT = "YYYY-MM-DD (e.g. 2026-11-27)"


@dataclass(frozen=True)
class Help:
    description: str
    examples: tuple[str, ...]


HELP: dict[str, Help] = {
    "": Help(
        "News monitoring for AI geopolitics: fetches German and English feeds, extracts, embeds, "
        "themes and groups articles into stories, extracts figures, and writes a daily digest. "
        "Without NEWSMON_DATABASE_URL the data lives in an embedded Postgres under NEWSMON_HOME "
        "(default ./.newsmon); only `demo` and `db start` create it. Dates are " + DATE_FORMAT + ".",
        ("newsmon demo", "newsmon run --digest", "newsmon db psql --analyst", "newsmon COMMAND --help"),
    ),
    "demo": Help(
        "Run the whole pipeline offline on the bundled demo corpus (served on 127.0.0.1) and the "
        "embedded Postgres, which it creates if needed; writes a digest and prints a summary.",
        ("newsmon demo", "NEWSMON_HOME=/tmp/nm newsmon demo"),
    ),
    "run": Help(
        "The main job once: ingest, embed, themes, stories and indicators in order; with --digest "
        "also the digest (sent when NEWSMON_SMTP_URL is set, else written).",
        ("newsmon run", "newsmon run --feeds my-feeds.yaml --digest"),
    ),
    "ingest": Help(
        "Fetch every due feed and its new pages, extract the article text and store articles. "
        "Failed feeds are recorded (see analytics.feed_health) and do not fail the run.",
        ("newsmon ingest", "newsmon ingest --feeds my-feeds.yaml", "newsmon ingest --reextract"),
    ),
    "embed": Help(
        "Embed stored articles that have no vector for the active model (NEWSMON_EMBED_MODEL).",
        ("newsmon embed", "NEWSMON_EMBED_MODEL=other-model newsmon embed --reembed"),
    ),
    "themes": Help("Assign themes (chips, open_source, sanctions, other) to embedded articles.",
                   ("newsmon themes",)),
    "stories": Help("Place new articles into cross-lingual stories (German and English reports of one event).",
                    ("newsmon stories",)),
    "indicators": Help("Extract figures (targets, market shares, downloads, ...) from articles and read the APIs.",
                       ("newsmon indicators",)),
    "digest": Help(
        "Build the daily digest for one day (default: yesterday in NEWSMON_TIMEZONE): written to "
        "NEWSMON_HOME/digests, or sent by SMTP with --send, or written to --out FILE. "
        "--date takes " + DATE_FORMAT + ".",
        ("newsmon digest", "newsmon digest --date 2026-11-27 --out /tmp/digest", "newsmon digest --send"),
    ),
    "db": Help(
        "The database. upgrade: apply migrations and views, set role passwords from the environment. "
        "start: start the embedded server (creating it when missing) and print its URL. stop: stop it. "
        "url: print the URL psql and psycopg accept. psql: open psql (as the owner, or with --analyst "
        "as the read-only newsmon_analyst role); arguments after `--` go to psql.",
        ("newsmon db start", "newsmon db url", "newsmon db psql --analyst",
         "newsmon db psql --analyst -- -c 'select count(*) from analytics.articles'", "newsmon db upgrade"),
    ),
    "feeds": Help("Feed list tools: check a feed list file, retry failed feeds.",
                  ("newsmon feeds check pipeline/data/feeds.yaml", "newsmon feeds retry --all-failed")),
    "feeds check": Help(
        "Validate a feed list file without fetching anything: every problem is reported (one line "
        "each, naming the entry), exit 2 when there is any.",
        ("newsmon feeds check my-feeds.yaml",),
    ),
    "feeds retry": Help(
        "Retry failed feeds now: clear their backoff, release stale claims, make given-up pages pending again.",
        ("newsmon feeds retry --all-failed", "newsmon feeds retry 'Northern Dispatch'"),
    ),
    "export": Help(
        "Write one view of the analytics schema to a CSV or Parquet file (UTC timestamps; CSV booleans "
        "as true/false, arrays as JSON). Views: articles, stories, theme_daily, indicator_observations, "
        "feed_health and every other analytics view (a wrong name lists them). --since takes "
        + DATE_FORMAT + ". An existing file is kept unless --force.",
        ("newsmon export articles --since 2026-11-01 --out articles.csv",
         "newsmon export stories --format parquet --force"),
    ),
    "subscribers": Help(
        "Digest and alert subscribers, stored in Postgres. add EMAIL: subscribe (or change what they get: "
        "--themes, --language de|en|both, --alerts); list: who gets what (--all: with unsubscribed); "
        "remove EMAIL: unsubscribe, the next mail no longer goes to them. NEWSMON_DIGEST_TO stays a fallback.",
        ("newsmon subscribers add ana@example.org --themes chips sanctions --language de --alerts",
         "newsmon subscribers list", "newsmon subscribers remove ana@example.org"),
    ),
    "calibrate": Help(
        "Fit the theme weights and thresholds and the story threshold for the active embedding model "
        "on the bundled labelled development set, and store them; or move a stored calibration "
        "between databases with --export / --import.",
        ("newsmon calibrate", "newsmon calibrate --export calibration.json",
         "newsmon calibrate --import calibration.json"),
    ),
    "alerts": Help("Mail opted-in subscribers about fast-growing stories and changed figures (hourly).",
                   ("newsmon alerts",)),
}


class HelpFormatter(argparse.HelpFormatter):
    """Wraps paragraphs, keeps the indented example lines as they are."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(
            line if line.startswith("  ") or not line else textwrap.fill(line, width, initial_indent=indent,
                                                                          subsequent_indent=indent)
            for line in text.splitlines()
        )


def _subcommands(parser: argparse.ArgumentParser):
    for action in parser._actions:  # argparse offers no public way to walk subparsers
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.items()


def command_name(parser: argparse.ArgumentParser) -> str:
    """``newsmon feeds check`` -> ``feeds check``."""
    return parser.prog.split(" ", 1)[1] if " " in parser.prog else ""


def decorate(parser: argparse.ArgumentParser) -> None:
    """Give ``parser`` and every subcommand its description and examples (where it has none)."""
    text = HELP.get(command_name(parser))
    if text is not None:
        parser.description = parser.description or text.description
        if not parser.epilog:
            parser.epilog = "examples:\n" + "\n".join(f"  {e}" for e in text.examples)
    parser.formatter_class = HelpFormatter
    for _, child in _subcommands(parser):
        decorate(child)


def all_commands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every parser in the tree, the top one first."""
    out = [parser]
    for _, child in _subcommands(parser):
        out.extend(all_commands(child))
    return out
