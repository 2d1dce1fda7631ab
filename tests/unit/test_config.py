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
