"""Alembic environment: always run programmatically by storage.db with a live connection."""

from alembic import context

from storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via storage.db
    raise SystemExit("run migrations with `pagetrail db upgrade`, not the alembic command")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs batch ALTERs
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
