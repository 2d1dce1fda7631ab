from pathlib import Path

import pytest

from pipeline.infra.config import ConfigError, Settings, mask_url


def test_defaults():
    s = Settings.from_env({})
    assert s.database_url is None and s.embedded
    assert s.home == Path(".newsmon").absolute()
    assert s.feeds_file.name == "feeds.yaml"
    assert s.allow_private_networks is False
    assert s.timezone == "Europe/Berlin"
    assert s.max_page_bytes == 10 * 1024 * 1024
    assert s.claim_lease_s == 900 and Settings.from_env({"NEWSMON_CLAIM_LEASE": "45"}).claim_lease_s == 45


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"NEWSMON_DATABASE_URL": "mysql://u@h/db"}, "NEWSMON_DATABASE_URL"),
        ({"NEWSMON_DATABASE_URL": "postgresql://u@h:notaport/db"}, "NEWSMON_DATABASE_URL"),
        ({"NEWSMON_MAX_PAGE_BYTES": "ten"}, "NEWSMON_MAX_PAGE_BYTES"),
        ({"NEWSMON_HTTP_CONCURRENCY": "0"}, "NEWSMON_HTTP_CONCURRENCY"),
        ({"NEWSMON_ALLOW_PRIVATE_NETWORKS": "maybe"}, "NEWSMON_ALLOW_PRIVATE_NETWORKS"),
        ({"NEWSMON_DIGEST_THEMES": "chips,potatoes"}, "NEWSMON_DIGEST_THEMES"),
        ({"NEWSMON_TIMEZONE": "Mars/Olympus"}, "NEWSMON_TIMEZONE"),
        ({"NEWSMON_SMTP_URL": "http://mail"}, "NEWSMON_SMTP_URL"),
        ({"NEWSMON_DIGEST_TO": "a@x.org, not-an-address"}, "NEWSMON_DIGEST_TO"),
        ({"NEWSMON_HF_API_URL": "ftp://hf"}, "NEWSMON_HF_API_URL"),
        ({"NEWSMON_CLAIM_LEASE": "0"}, "NEWSMON_CLAIM_LEASE"),
    ],
)
def test_bad_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    message = str(info.value)
    assert message.startswith(variable + ":")
    assert "\n" not in message


def test_secrets_are_masked():
    s = Settings.from_env({
        "NEWSMON_DATABASE_URL": "postgresql://app:s3cret@db:5432/newsmon",
        "NEWSMON_SMTP_URL": "smtp+starttls://user:hunter2@mail:587",
        "NEWSMON_HF_TOKEN": "hf_abc",
    })
    text = repr(s) + str(s.describe())
    for secret in ("s3cret", "hunter2", "hf_abc"):
        assert secret not in text
    assert mask_url("postgresql://app:s3cret@db/n") == "postgresql://app:***@db/n"


def test_lists_and_numbers():
    s = Settings.from_env({
        "NEWSMON_DIGEST_TO": "a@x.org; b@y.org",
        "NEWSMON_DIGEST_THEMES": "chips, sanctions",
        "NEWSMON_MAX_FEED_BYTES": "1_000_000",
    })
    assert s.digest_to == ("a@x.org", "b@y.org")
    assert s.digest_themes == ("chips", "sanctions")
    assert s.max_feed_bytes == 1_000_000


SECRET_URLS = [
    ("postgresql://app:s3cret@db:5432/n?sslmode=require&password=pw2&sslpassword=pw3",
     "postgresql://app:***@db:5432/n?sslmode=require&password=***&sslpassword=***"),
    ("https://api.example/v1?Token=t0k&q=chips&API_KEY=k3y&access_token=acc#part",
     "https://api.example/v1?Token=***&q=chips&API_KEY=***&access_token=***#part"),
    ("https://feeds.example/rss?key=k3y&keyword=chips&secret=s3c", "https://feeds.example/rss?key=***&keyword=chips&secret=***"),
    ("postgresql://app@db/n?PassWord=pw2", "postgresql://app@db/n?PassWord=***"),
    ("https://plain.example/a?b=c", "https://plain.example/a?b=c"),
]


@pytest.mark.parametrize("url, masked", SECRET_URLS)
def test_mask_url_hides_user_info_passwords_and_secret_parameters(url, masked):
    assert mask_url(url) == masked


def test_mask_urls_in_a_line():
    from pipeline.infra.config import mask_urls_in

    line = "cannot fetch https://u:pw1@h.example/x?token=t0k (timeout); db postgresql://a:pw2@c/d?password=pw3."
    masked = mask_urls_in(line)
    assert not any(s in masked for s in ("pw1", "t0k", "pw2", "pw3"))
    assert masked.startswith("cannot fetch https://u:***@h.example/x?token=*** (timeout)")


def test_cli_connection_error_masks_the_database_url(monkeypatch, capsys, tmp_path):
    from pipeline.cli import main

    monkeypatch.setenv("NEWSMON_DATABASE_URL", "postgresql://app:s3cret@127.0.0.1:1/n?password=pw2&sslpassword=pw3")
    monkeypatch.setenv("NEWSMON_HOME", str(tmp_path))
    assert main(["ingest"]) == 2
    err = capsys.readouterr().err
    assert "cannot connect to Postgres" in err and "password=***" in err
    assert not any(s in err for s in ("s3cret", "pw2", "pw3"))
