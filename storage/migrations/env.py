"""Alembic environment: always run programmatically by storage.db with a live connection."""

from alembic import context

from storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via storage.db
    raise SystemExit("run migrations with `pagetrail db upgrade`, not the alembic command")



def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # FTS5's shadow tables and the tsvector column are made by raw SQL in 0002_search.
    return not (type_ == "table" and name.startswith("search_fts"))


context.configure(
    connection=connection,
    include_object=include_object,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch ALTERs
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
