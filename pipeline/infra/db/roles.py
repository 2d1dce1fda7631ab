"""Login passwords of the ``newsmon_app`` and ``newsmon_analyst`` roles, from settings.

The roles themselves are created by ``sql/migrations/0006_roles.sql`` (NOLOGIN, no password:
nothing secret is ever written to a file). ``newsmon db upgrade`` calls
``apply_role_passwords`` afterwards: a role whose password is set (``NEWSMON_APP_PASSWORD``,
``NEWSMON_ANALYST_PASSWORD``) gets LOGIN and that password; a role whose password is unset
is left as it is. The password is hashed (SCRAM-SHA-256) on the client, so the clear text
never reaches the server or its statement log.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql

from pipeline.infra.db.errors import DatabaseError
from pipeline.infra.db.pool import connect, describe_target
from pipeline.infra.config import Settings

APP_ROLE = "newsmon_app"
ANALYST_ROLE = "newsmon_analyst"


class RoleError(DatabaseError):
    """A password is configured for a role that does not exist or cannot be changed."""


@dataclass(frozen=True)
class RolePasswords:
    """What ``apply_role_passwords`` did: the roles that got LOGIN + password."""

    updated: tuple[str, ...]

    def summary(self) -> str:
        if not self.updated:
            return "role passwords: none configured (NEWSMON_APP_PASSWORD, NEWSMON_ANALYST_PASSWORD)"
        return "role passwords set: " + ", ".join(self.updated)


def configured_passwords(settings: Settings) -> dict[str, str]:
    """Role name -> password for the roles whose password is set."""
    out = {}
    if settings.app_password:
        out[APP_ROLE] = settings.app_password
    if settings.analyst_password:
        out[ANALYST_ROLE] = settings.analyst_password
    return out


def apply_role_passwords(url: str, settings: Settings) -> RolePasswords:
    """Give each role with a configured password LOGIN and that password. Idempotent."""
    wanted = configured_passwords(settings)
    if not wanted:
        return RolePasswords(())
    updated = []
    with connect(url, autocommit=True) as conn:
        for role, password in wanted.items():
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
                raise RoleError(
                    f"role {role} does not exist in {describe_target(url)}: run `newsmon db upgrade` "
                    "as a user that may create roles, or create it (NOLOGIN) as an administrator"
                )
            # libpq hashes with the server's password_encryption; only the verifier is sent.
            verifier = conn.pgconn.encrypt_password(password.encode(), role.encode()).decode()
            try:
                conn.execute(
                    sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(verifier)
                    )
                )
            except psycopg.errors.InsufficientPrivilege:
                raise RoleError(
                    f"the user of NEWSMON_DATABASE_URL may not change role {role}; "
                    "set its password as an administrator"
                ) from None
            updated.append(role)
    return RolePasswords(tuple(updated))


def role_url(url: str, role: str, password: str | None) -> str:
    """``url`` with its user (and password) replaced: the URL a role's users connect with."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = quote(role, safe="")
    if password:
        userinfo += ":" + quote(password, safe="")
    return parts._replace(netloc=f"{userinfo}@{host}").geturl()


def allow_analyst_login_without_password(url: str) -> None:
    """Give ``newsmon_analyst`` LOGIN on the embedded server, where it has no password.

    Only for the embedded server: it listens on 127.0.0.1 with trust authentication, so every
    local user can already connect as its superuser; LOGIN there only lets analysts use the
    read-only role (``newsmon db psql --analyst``). A real server keeps NOLOGIN until
    ``NEWSMON_ANALYST_PASSWORD`` is set.
    """
    with connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (ANALYST_ROLE,)).fetchone()
        if row is None:
            raise RoleError(f"role {ANALYST_ROLE} does not exist in {describe_target(url)}: run `newsmon db upgrade`")
        if not row[0]:
            conn.execute(sql.SQL("ALTER ROLE {} WITH LOGIN").format(sql.Identifier(ANALYST_ROLE)))
