"""Cluster-level setup that migrations cannot do on their own: roles, database, extensions."""

from __future__ import annotations

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from fisioflow.core.database import OWNER_ROLE, DatabaseLocation

EXTENSIONS = ("pg_trgm", "unaccent", "btree_gist", "btree_gin", "citext", "fuzzystrmatch")
OPTIONAL_EXTENSIONS = ("pg_stat_statements",)


def libpq_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def bootstrap(location: DatabaseLocation, *, app_role: str) -> None:
    """Idempotent: create what is missing, touch nothing that exists."""
    if location.superuser_url is not None:
        _bootstrap_embedded(location, app_role=app_role)
        return
    with psycopg.connect(libpq_dsn(location.owner_url), autocommit=True) as conn:
        _ensure_role(conn, app_role, login=True, password=location.app_url.password)
        _ensure_extensions(conn)


def _bootstrap_embedded(location: DatabaseLocation, *, app_role: str) -> None:
    assert location.superuser_url is not None
    database = location.owner_url.database
    assert database is not None
    with psycopg.connect(libpq_dsn(location.superuser_url), autocommit=True) as conn:
        _ensure_role(conn, OWNER_ROLE, login=True, password=None)
        _ensure_role(conn, app_role, login=True, password=None)
        exists = conn.execute("select 1 from pg_database where datname = %s", [database])
        if exists.fetchone() is None:
            conn.execute(
                sql.SQL("create database {} owner {}").format(
                    sql.Identifier(database), sql.Identifier(OWNER_ROLE)
                )
            )
    su_db = location.superuser_url.set(database=database)
    with psycopg.connect(libpq_dsn(su_db), autocommit=True) as conn:
        _ensure_extensions(conn)


def _ensure_role(
    conn: psycopg.Connection[tuple[object, ...]], role: str, *, login: bool, password: str | None
) -> None:
    if conn.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone():
        return
    statement = sql.SQL(
        "create role {} {} nosuperuser nocreatedb nocreaterole nobypassrls noinherit"
    ).format(sql.Identifier(role), sql.SQL("login" if login else "nologin"))
    if password:
        statement = sql.SQL("{} password {}").format(statement, sql.Literal(password))
    conn.execute(statement)


def _ensure_extensions(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    for name in EXTENSIONS:
        conn.execute(sql.SQL("create extension if not exists {}").format(sql.Identifier(name)))
    for name in OPTIONAL_EXTENSIONS:
        try:
            conn.execute(sql.SQL("create extension if not exists {}").format(sql.Identifier(name)))
        except psycopg.errors.InsufficientPrivilege:
            continue
