"""page.uid: a page id stable across archives, for revision refs "<page_uid>:<ordinal>"

Revision ID: 0010_page_uid
Revises: 0009_read_indexes

The uid is the first 20 hex digits of sha256 of the page's key (its normalized requested URL,
the `url` column): the same page gets the same uid in every archive, so a revision ref survives
`export --format warc` and `import-warc` (the numeric page id does not). storage.refs.page_uid
is the code's copy of the derivation; `_uid` below is the migration's own (hand-written, no
import of storage code, so it stays valid as that code changes); a test checks they agree.

Steps: add the column (nullable), fill it for existing pages in keyset batches, then make it
unique and NOT NULL.
- PostgreSQL: ALTER COLUMN ... SET NOT NULL and a unique index.
- SQLite: a unique index, and NOT NULL kept by two triggers (insert, update). SQLite can only
  add NOT NULL by re-creating the table (a batch "move and copy"), and `page` is referenced by
  most tables: with foreign keys on, SQLite refuses to drop it inside the transaction.
"""
from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0010_page_uid"
down_revision = "0009_read_indexes"
branch_labels = None
depends_on = None

UID_HEX_DIGITS = 20
BATCH = 5000  # pages read and updated per statement: bounded memory on any archive size

_TRIGGERS = {
    "page_uid_not_null_insert": "BEFORE INSERT ON page FOR EACH ROW WHEN NEW.uid IS NULL",
    "page_uid_not_null_update": "BEFORE UPDATE OF uid ON page FOR EACH ROW WHEN NEW.uid IS NULL",
}


def _uid(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:UID_HEX_DIGITS]


def _fill(conn: sa.Connection) -> None:
    select_batch = sa.text("SELECT id, url FROM page WHERE id > :last ORDER BY id LIMIT :n")
    update = sa.text("UPDATE page SET uid = :uid WHERE id = :id")
    last = 0
    while True:
        rows = conn.execute(select_batch, {"last": last, "n": BATCH}).all()
        if not rows:
            return
        conn.execute(update, [{"id": pid, "uid": _uid(url)} for pid, url in rows])
        last = rows[-1][0]


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("page", sa.Column("uid", sa.String(length=UID_HEX_DIGITS), nullable=True))
    _fill(conn)
    op.create_index("ix_page_uid", "page", ["uid"], unique=True)
    if conn.dialect.name == "sqlite":
        for name, when in _TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} {when} BEGIN "
                "SELECT RAISE(ABORT, 'NOT NULL constraint failed: page.uid (storage.refs.page_uid(url))'); END"
            )
    else:
        op.alter_column("page", "uid", existing_type=sa.String(length=UID_HEX_DIGITS), nullable=False)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for name in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_page_uid", table_name="page")
    if conn.dialect.name == "sqlite":
        op.execute("ALTER TABLE page DROP COLUMN uid")  # SQLite >= 3.35; no table re-creation
    else:
        op.drop_column("page", "uid")
