"""Errors of the database layer, each printed as one line by the CLI."""

from __future__ import annotations

from pipeline.infra.config import UserError


class DatabaseError(UserError, RuntimeError):
    """The database cannot be used (unreachable, wrong credentials, schema behind)."""


class MigrationError(DatabaseError):
    """A migration failed or an applied migration file was changed."""
