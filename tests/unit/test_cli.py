"""The command line's parser: --version, help texts with examples on every subcommand, date
formats, and how `db psql` splits its own options from psql's."""

from __future__ import annotations

import pytest

from pipeline.cli import _psql_args, build_parser, io_error_line
from pipeline.cli_help import all_commands, command_name


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["--version"])
    assert info.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("newsmon ") and out.split()[1][0].isdigit()


def test_every_command_has_a_description_and_an_example():
    parsers = all_commands(build_parser())
    names = [command_name(p) for p in parsers]
    assert {"", "demo", "run", "db", "feeds check", "export", "digest"} <= set(names)
    for parser in parsers:
        name = command_name(parser) or "newsmon"
        assert parser.description and len(parser.description) > 20, f"{name}: no description"
        assert parser.epilog and "examples:" in parser.epilog, f"{name}: no example"
        # the examples name the command itself, so they can be copied as they are
        assert f"newsmon {command_name(parser)}".strip() in parser.epilog, f"{name}: examples for another command"


@pytest.mark.parametrize("command", [["export"], ["digest"]])
def test_help_shows_the_date_format(command, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([*command, "--help"])
    assert "YYYY-MM-DD" in capsys.readouterr().out


def test_export_help_lists_view_names(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "--help"])
    out = capsys.readouterr().out
    assert all(v in out for v in ("articles", "stories", "theme_daily", "indicator_observations", "feed_health"))


def test_bad_date_names_the_format(capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["export", "articles", "--since", "27.11.2026"])
    assert info.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


@pytest.mark.parametrize("argv, analyst, psql", [
    (["db", "psql"], False, []),
    (["db", "psql", "--", "-c", "select 1"], False, ["-c", "select 1"]),
    (["db", "psql", "-c", "select 1"], False, ["-c", "select 1"]),
    (["db", "psql", "--analyst", "--", "-At", "-c", "select 1"], True, ["-At", "-c", "select 1"]),
    (["db", "--analyst", "psql"], True, []),
    (["db", "psql", "--analyst"], True, []),
    # after `--` everything is psql's, even a word that looks like ours
    (["db", "psql", "--", "-v", "x=--analyst"], False, ["-v", "x=--analyst"]),
])
def test_db_psql_arguments(argv, analyst, psql):
    args = build_parser().parse_args(argv)
    assert _psql_args(args) == (analyst, psql)


def test_io_error_line_is_plain():
    exc = FileNotFoundError(2, "No such file or directory", "/nope/x.html")
    assert io_error_line(exc) == "/nope/x.html: No such file or directory"
    assert io_error_line(PermissionError(13, "Permission denied")) == "Permission denied"


@pytest.mark.parametrize("host, ok", [
    ("example.com", True), ("sub-domain.example.co.uk", True), ("bücher.example", True), ("127.0.0.1", True),
    ("::1", True), ("under_score.example", True),
    ("exa mple.com", False), ("bad..example", False), ("-lead.example", False), ("a" * 64 + ".example", False),
    ("", False), (None, False), ("tab\there.example", False),
])
def test_feed_host_validation(host, ok):
    from pipeline.ingest.feeds import valid_host

    assert valid_host(host) is ok


def test_feed_list_loading_names_the_first_problem_and_counts_the_rest(tmp_path):
    from pipeline.ingest.feeds import FeedListError, load_feed_list

    path = tmp_path / "feeds.yaml"
    path.write_text("- {name: a, url: 'http://exa mple.com/', language: de}\n"
                    "- {name: b, url: 'https://ok.example/', language: xx}\n"
                    "- {name: c, url: 'https://ok.example/c', language: en}\n", encoding="utf-8")
    with pytest.raises(FeedListError) as info:
        load_feed_list(path)
    message = str(info.value)
    assert "entry 1 ('a'): url has an invalid host" in message
    assert message.endswith(f"(and 1 more problem(s): newsmon feeds check {path})")


@pytest.mark.parametrize("url, secret", [
    ("postgresql://newsmon_analyst:s3cr%40t@db:5432/newsmon?sslmode=require", "s3cr@t"),
    ("postgresql://newsmon_analyst@db/newsmon?password=s3cret&sslmode=require", "s3cret"),
])
def test_psql_gets_the_password_in_its_environment_not_its_arguments(url, secret):
    from pipeline.infra.db import psql_command, psql_environment

    argv = psql_command(url, ["-c", "select 1"])
    assert not any(secret in a or "s3cr" in a for a in argv)
    assert argv[1].startswith("postgresql://newsmon_analyst@db") and "sslmode=require" in argv[1]
    assert argv[2:] == ["-c", "select 1"]
    assert psql_environment(url, {"PATH": "/bin"}) == {"PATH": "/bin", "PGPASSWORD": secret}
    assert "PGPASSWORD" not in psql_environment("postgresql://u@db/newsmon", {})
