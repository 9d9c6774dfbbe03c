"""Opening an archive database: engines, SQLite pragmas, schema version checks, upgrades.

SQLite (the embedded default) upgrades itself on first use. PostgreSQL needs an explicit
`pagetrail db upgrade`, which holds an advisory lock so two machines may run it at once.
Every open refuses a schema older or newer than this code knows, saying what to run.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant: the key of the PostgreSQL advisory lock that serializes `db upgrade`.
_UPGRADE_LOCK_KEY = 0x7061_6765  # "page"


class ArchiveError(Exception):
    """A problem the user can fix; the message says how."""


class SchemaMismatch(ArchiveError):
    pass


def normalize_db_url(url: str) -> str:
    """Accept `postgresql://` and `postgres://` and use the psycopg 3 driver for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite URL, or None for other databases and in-memory SQLite."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _on_sqlite_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer; NORMAL sync is durable across process crashes
    # (a SIGKILL loses nothing committed; only an OS crash may lose the last transactions).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    url = normalize_db_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ArchiveError(
            f"not a database URL: {url!r}; use e.g. sqlite:///pagetrail.db or "
            "postgresql://user@host:5432/dbname"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _on_sqlite_connect)
        # pysqlite's own transaction handling defers BEGIN; take control so a write
        # transaction starts with BEGIN IMMEDIATE and never dead-locks on upgrade.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            # Writers take the write lock up front (no lock upgrade that could fail mid-way);
            # readers start a deferred transaction and never block the crawler (WAL).
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise ArchiveError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")


def _alembic_config(connection) -> Config:  # type: ignore[no-untyped-def]
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


@functools.lru_cache(maxsize=1)
def _script() -> ScriptDirectory:  # read once per process: services check the schema periodically
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg)


def head_revision() -> str:
    """This code's schema version: its migration heads, joined with '+' when branched."""
    return "+".join(sorted(_script().get_heads()))


def known_revisions() -> set[str]:
    return {s.revision for s in _script().walk_revisions()}


def _current(conn) -> str | None:  # type: ignore[no-untyped-def]
    heads = MigrationContext.configure(conn).get_current_heads()
    return "+".join(sorted(heads)) if heads else None


def _unknown(current: str | None) -> bool:
    return current is not None and not set(current.split("+")) <= known_revisions()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return _current(conn)


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to this code's head; returns (before, after). Safe to run concurrently."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held until this transaction ends: a second `db upgrade` waits, then finds
            # the schema current and does nothing.
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPGRADE_LOCK_KEY})
        before = _current(conn)
        if _unknown(before):
            raise SchemaMismatch(
                f"the database schema ({before}) is newer than this pagetrail knows; "
                "upgrade pagetrail before upgrading the database"
            )
        command.upgrade(_alembic_config(conn), "heads")
    return before, head_revision()


def check_schema(engine: Engine) -> None:
    """Refuse a schema older or newer than this code's, with what to run."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    url = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise SchemaMismatch(
            f"the database {url} has no pagetrail schema yet; run `pagetrail db upgrade --db {url}`"
        )
    if _unknown(current):
        raise SchemaMismatch(
            f"the database {url} has schema {current}, newer than this pagetrail "
            f"(knows up to {head}); install the newer pagetrail that wrote it"
        )
    raise SchemaMismatch(
        f"the database {url} has schema {current}, older than this pagetrail's {head}; "
        f"run `pagetrail db upgrade --db {url}`"
    )


def open_engine(url: str, *, must_exist: bool = False, read_only: bool = False) -> Engine:
    """An engine on a ready archive.

    must_exist: refuse a database that does not exist (and never create an empty SQLite file
    by looking). read_only: on SQLite, transactions start deferred so readers never wait for
    the write lock. SQLite upgrades itself; PostgreSQL must be upgraded explicitly.
    """
    url = normalize_db_url(url)
    path = sqlite_path(url)
    if path is not None:
        if must_exist and not path.exists():
            raise ArchiveError(
                f"no archive at {path}: crawl something first (`pagetrail crawl URL --db "
                f"sqlite:///{path}`) or point --db / PAGETRAIL_DB at an existing archive"
            )
        if not must_exist and not path.parent.exists():
            raise ArchiveError(f"cannot create {path}: the folder {path.parent} does not exist")
    engine = make_engine(url)
    try:
        if path is not None or make_url(url).get_backend_name() == "sqlite":
            current = current_revision(engine)
            if _unknown(current):
                check_schema(engine)  # raises "newer"
            if current != head_revision():
                upgrade(engine)
        else:
            check_schema(engine)
    except OperationalError as exc:
        engine.dispose()
        raise ArchiveError(
            f"cannot reach the database {engine.url.render_as_string(hide_password=True)}: "
            f"{str(exc.orig).strip().splitlines()[0] if exc.orig else exc}; check --db / "
            "PAGETRAIL_DB and that the server is running"
        ) from None
    except SQLAlchemyError:
        engine.dispose()
        raise
    if read_only and engine.dialect.name == "sqlite":
        engine.dispose()  # the schema is ready: readers get their own, lock-free engine
        engine = make_engine(url, read_only=True)
    return engine


def is_disconnect(exc: BaseException) -> bool:
    """True for a lost or refused database connection (a server restart or failover, a network
    cut, a killed backend; also a transaction the server rolled back, e.g. a deadlock): worth
    waiting out and trying again, unlike a bug."""
    from sqlalchemy.exc import DBAPIError, InterfaceError

    return isinstance(exc, (OperationalError, InterfaceError)) or (
        isinstance(exc, DBAPIError) and bool(exc.connection_invalidated))
