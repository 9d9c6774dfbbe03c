"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

PostgreSQL tests use a fresh schema per test inside the `test` database (PAGETRAIL_TEST_PG,
default postgresql://postgres@127.0.0.1:5432/test), selected with search_path, and drop it
afterwards. When PostgreSQL is unreachable they fail, not skip: `make test` starts it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from storage.archive import Archive
from storage.db import normalize_db_url, open_engine, upgrade, make_engine

PG_URL = os.environ.get("PAGETRAIL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

try:  # the crawler engineers' HTTP fixtures, shared by every test module
    from tests.http_fixtures import *  # noqa: F401,F403
except ImportError:  # pragma: no cover - while they are being written
    pass


def pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return normalize_db_url(PG_URL) + f"{sep}options=" + quote(f"-csearch_path={schema}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    schema = "pt_" + uuid.uuid4().hex[:12]
    admin = create_engine(normalize_db_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_schema_url(schema)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'archive.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """An empty archive database URL, schema upgraded, on each backend."""
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def archive(db_url) -> Iterator[Archive]:
    engine = open_engine(db_url)
    yield Archive(engine)
    engine.dispose()
