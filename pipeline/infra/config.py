"""Settings: one object built from the ``NEWSMON_*`` environment variables (+ optional .env).

A bad value fails at start with one line that names the variable (``ConfigError``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = PACKAGE_DIR / "data"
DEFAULT_FEEDS_FILE = DATA_DIR / "feeds.yaml"
# Bundled, multilingual, calibrated and CI-tested; chosen over the bundled USE for its stories on
# the two held-out sets (85 vs 79 of 94 DE/EN pairs together, F1 a little higher; themes about
# equal; issue 12, README "Choosing the default model"), at about 48x USE's CPU per article.
DEFAULT_EMBED_MODEL = "multilingual-e5-small"
# The contract's themes (DESIGN.md) with their digest titles, the one list of them: data/themes.yaml
# describes each theme but `other`, which holds what is off topic.
OTHER_THEME = "other"
THEME_TITLES = {"chips": "Chips", "open_source": "Open source", "sanctions": "Sanctions", OTHER_THEME: "Other"}
BASE_THEMES = tuple(THEME_TITLES)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class UserError(Exception):
    """A problem the user can fix (settings, feed list, database, model): one line, exit 2."""


class ConfigError(UserError, ValueError):
    """A setting is missing or malformed. The message is one line naming the variable."""


def known_themes() -> tuple[str, ...]:
    """Theme keys from the taxonomy file when present, else the contract's four."""
    path = DATA_DIR / "themes.yaml"
    if path.exists():
        try:
            import yaml

            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            items = data.get("themes", data) if isinstance(data, dict) else data
            keys = list(items.keys()) if isinstance(items, dict) else [t["key"] for t in items]
            return tuple(dict.fromkeys([*keys, OTHER_THEME]))
        except Exception:  # a broken taxonomy is reported by themes.py, not here
            pass
    return BASE_THEMES


# Query parameters whose value is a secret (libpq's password/sslpassword, API tokens and keys).
SECRET_QUERY_PARAMS = frozenset({"password", "sslpassword", "token", "key", "secret", "api_key", "access_token"})
_SECRET_PARAM = re.compile(r"(?i)([?&;](?:%s)=)[^&#;\s]*" % "|".join(sorted(SECRET_QUERY_PARAMS)))
_URL_IN_TEXT = re.compile(r"(?i)\b[a-z][a-z0-9+.-]{1,30}://[^\s'\"<>]+")


def mask_url(url: str | None) -> str:
    """The URL with its secrets replaced by ***: the password of the user info and the values
    of the query parameters in ``SECRET_QUERY_PARAMS`` (any case). Safe for logs, error lines
    and API responses."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparseable url>"
    masked = _SECRET_PARAM.sub(r"\1***", url)
    if password is None:
        return masked
    parts = urlsplit(masked)
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0] + ":***"
    return parts._replace(netloc=f"{userinfo}@{netloc[1]}").geturl()


def mask_urls_in(text: str) -> str:
    """``text`` with every URL in it passed through ``mask_url`` (error lines that quote a URL)."""
    return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text) if "://" in text else text


@dataclass(frozen=True)
class Settings:
    database_url: str | None = field(default=None, repr=False)
    home: Path = Path(".newsmon")
    feeds_file: Path = DEFAULT_FEEDS_FILE
    embed_model: str = DEFAULT_EMBED_MODEL
    allow_private_networks: bool = False
    smtp_url: str | None = field(default=None, repr=False)
    digest_from: str | None = None
    digest_to: tuple[str, ...] = ()
    timezone: str = "Europe/Berlin"
    digest_themes: tuple[str, ...] = tuple(t for t in BASE_THEMES if t != OTHER_THEME)
    http_concurrency: int = 16
    per_host_concurrency: int = 2
    host_delay_s: float = 0.25
    http_timeout_s: float = 20.0
    max_feed_bytes: int = 5 * 1024 * 1024
    max_page_bytes: int = 10 * 1024 * 1024
    contact_url: str = "https://github.com/newsmon/newsmon"
    extract_workers: int = 0  # 0: one per core
    embed_threads: int = 0  # CPU threads of the embedding model's forward pass; 0: one per core
    extract_timeout_s: float = 60.0  # per page; a page over it twice is failed
    claim_lease_s: float = 900.0  # an extraction claim older than this is retaken (its task died)
    story_window_days: int = 7
    hf_api_url: str = "https://huggingface.co"
    github_api_url: str = "https://api.github.com"
    hf_token: str | None = field(default=None, repr=False)
    github_token: str | None = field(default=None, repr=False)
    app_password: str | None = field(default=None, repr=False)
    analyst_password: str | None = field(default=None, repr=False)
    pool_max_size: int = 8
    # digest subscriptions and alerts (issue 16)
    digest_reply_to: str | None = None
    unsubscribe_url: str | None = None  # https link of the plugin's /newsmon/unsubscribe endpoint
    unsubscribe_secret: str | None = field(default=None, repr=False)
    alert_growth_ratio: float = 3.0  # last hour's articles / the story's own mean per hour before
    alert_min_articles: int = 3  # a story needs this many articles in the hour to alert

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def digests_dir(self) -> Path:
        return self.home / "digests"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def embedded(self) -> bool:
        return not self.database_url

    def describe(self) -> dict[str, str]:
        """Settings for display: secrets masked."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in {"database_url", "smtp_url"}:
                value = mask_url(value)
            elif not f.repr:  # every secret field is declared repr=False
                value = "***" if value else ""
            out[f.name] = str(value)
        return out

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, dotenv: bool = True) -> "Settings":
        env = dict(os.environ if environ is None else environ)
        if dotenv and environ is None:
            env = {**_read_dotenv(Path(env.get("NEWSMON_HOME", ".newsmon")).parent / ".env"), **env}
        return _parse(env)


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if k.startswith("NEWSMON_") and v is not None}


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _int(env, name, default, minimum=0) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise ConfigError(f"{name}: expected an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name}: must be >= {minimum}, got {value}")
    return value


def _float(env, name, default, minimum=0.0) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name}: must be >= {minimum}, got {value}")
    return value


def _bool(env, name, default) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _http_url(env, name, default) -> str:
    raw = _get(env, name)
    if raw is None:
        return default
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"{name}: expected an http(s) URL, got {mask_url(raw)!r}")
    return raw.rstrip("/")


def validate_database_url(raw: str, name: str = "NEWSMON_DATABASE_URL") -> str:
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises on a non-numeric port
    except ValueError as exc:
        raise ConfigError(f"{name}: malformed URL {mask_url(raw)!r} ({exc})") from None
    if parts.scheme not in {"postgresql", "postgres", "postgresql+psycopg"}:
        raise ConfigError(f"{name}: expected a postgresql:// URL, got {mask_url(raw)!r}")
    if not parts.hostname and "host=" not in (parts.query or ""):
        raise ConfigError(f"{name}: URL has no host: {mask_url(raw)!r}")
    return raw.replace("postgresql+psycopg://", "postgresql://", 1)


def validate_smtp_url(raw: str, name: str = "NEWSMON_SMTP_URL") -> str:
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018
    except ValueError as exc:
        raise ConfigError(f"{name}: malformed URL {mask_url(raw)!r} ({exc})") from None
    if parts.scheme not in {"smtp", "smtps", "smtp+starttls"} or not parts.hostname:
        raise ConfigError(
            f"{name}: expected smtp://, smtp+starttls:// or smtps://host[:port], got {mask_url(raw)!r}"
        )
    return raw


def _addresses(env, name) -> tuple[str, ...]:
    raw = _get(env, name)
    if raw is None:
        return ()
    out = tuple(a.strip() for a in raw.replace(";", ",").split(",") if a.strip())
    for addr in out:
        if "@" not in addr or " " in addr.split("<")[-1]:
            raise ConfigError(f"{name}: not an email address: {addr!r}")
    return out


def _parse(env: Mapping[str, str]) -> Settings:
    kwargs: dict = {}
    db = _get(env, "NEWSMON_DATABASE_URL")
    if db:
        kwargs["database_url"] = validate_database_url(db)
    kwargs["home"] = Path(_get(env, "NEWSMON_HOME") or ".newsmon").expanduser().absolute()
    feeds = _get(env, "NEWSMON_FEEDS")
    if feeds:
        kwargs["feeds_file"] = Path(feeds).expanduser()
    model = _get(env, "NEWSMON_EMBED_MODEL")
    if model:
        kwargs["embed_model"] = model
    kwargs["allow_private_networks"] = _bool(env, "NEWSMON_ALLOW_PRIVATE_NETWORKS", False)
    smtp = _get(env, "NEWSMON_SMTP_URL")
    if smtp:
        kwargs["smtp_url"] = validate_smtp_url(smtp)
    sender = _addresses(env, "NEWSMON_DIGEST_FROM")
    if len(sender) > 1:
        raise ConfigError("NEWSMON_DIGEST_FROM: expected one address")
    kwargs["digest_from"] = sender[0] if sender else None
    kwargs["digest_to"] = _addresses(env, "NEWSMON_DIGEST_TO")
    tz = _get(env, "NEWSMON_TIMEZONE")
    if tz:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"NEWSMON_TIMEZONE: unknown time zone {tz!r}") from None
        kwargs["timezone"] = tz
    themes = _get(env, "NEWSMON_DIGEST_THEMES")
    if themes:
        chosen = tuple(t.strip() for t in themes.split(",") if t.strip())
        valid = known_themes()
        for theme in chosen:
            if theme not in valid:
                raise ConfigError(
                    f"NEWSMON_DIGEST_THEMES: unknown theme {theme!r} (known: {', '.join(valid)})"
                )
        kwargs["digest_themes"] = chosen
    kwargs["http_concurrency"] = _int(env, "NEWSMON_HTTP_CONCURRENCY", 16, minimum=1)
    kwargs["per_host_concurrency"] = _int(env, "NEWSMON_PER_HOST_CONCURRENCY", 2, minimum=1)
    kwargs["host_delay_s"] = _float(env, "NEWSMON_HOST_DELAY", 0.25)
    kwargs["http_timeout_s"] = _float(env, "NEWSMON_HTTP_TIMEOUT", 20.0, minimum=0.1)
    kwargs["max_feed_bytes"] = _int(env, "NEWSMON_MAX_FEED_BYTES", 5 * 1024 * 1024, minimum=1024)
    kwargs["max_page_bytes"] = _int(env, "NEWSMON_MAX_PAGE_BYTES", 10 * 1024 * 1024, minimum=1024)
    kwargs["contact_url"] = _http_url(env, "NEWSMON_CONTACT_URL", Settings.contact_url)
    kwargs["extract_workers"] = _int(env, "NEWSMON_EXTRACT_WORKERS", 0)
    kwargs["embed_threads"] = _int(env, "NEWSMON_EMBED_THREADS", 0)
    kwargs["extract_timeout_s"] = _float(env, "NEWSMON_EXTRACT_TIMEOUT", 60.0, minimum=1.0)
    kwargs["claim_lease_s"] = _float(env, "NEWSMON_CLAIM_LEASE", 900.0, minimum=1.0)
    kwargs["story_window_days"] = _int(env, "NEWSMON_STORY_WINDOW_DAYS", 7, minimum=1)
    kwargs["hf_api_url"] = _http_url(env, "NEWSMON_HF_API_URL", Settings.hf_api_url)
    kwargs["github_api_url"] = _http_url(env, "NEWSMON_GITHUB_API_URL", Settings.github_api_url)
    kwargs["hf_token"] = _get(env, "NEWSMON_HF_TOKEN")
    kwargs["github_token"] = _get(env, "NEWSMON_GITHUB_TOKEN")
    kwargs["app_password"] = _get(env, "NEWSMON_APP_PASSWORD")
    kwargs["analyst_password"] = _get(env, "NEWSMON_ANALYST_PASSWORD")
    kwargs["pool_max_size"] = _int(env, "NEWSMON_POOL_SIZE", 8, minimum=1)
    reply_to = _addresses(env, "NEWSMON_DIGEST_REPLY_TO")
    kwargs["digest_reply_to"] = reply_to[0] if reply_to else None
    unsubscribe_url = _get(env, "NEWSMON_UNSUBSCRIBE_URL")
    if unsubscribe_url:
        if urlsplit(unsubscribe_url).scheme != "https" or not urlsplit(unsubscribe_url).hostname:
            raise ConfigError(f"NEWSMON_UNSUBSCRIBE_URL: expected an https:// URL, got {unsubscribe_url!r}")
        kwargs["unsubscribe_url"] = unsubscribe_url
    secret = _get(env, "NEWSMON_UNSUBSCRIBE_SECRET")
    if secret and len(secret) < 16:
        raise ConfigError("NEWSMON_UNSUBSCRIBE_SECRET: must be at least 16 characters")
    kwargs["unsubscribe_secret"] = secret
    kwargs["alert_growth_ratio"] = _float(env, "NEWSMON_ALERT_GROWTH", 3.0, minimum=1.0)
    kwargs["alert_min_articles"] = _int(env, "NEWSMON_ALERT_MIN_ARTICLES", 3, minimum=1)
    return Settings(**kwargs)
