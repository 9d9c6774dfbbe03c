"""search_doc.tsv kept in the row (PostgreSQL): a search reads candidates without TOAST lookups

Revision ID: 0011_search_tsv_in_row
Revises: 0010_page_uid

A search checks and ranks its candidates' tsvectors (`tsv @@ query` while walking the primary
key from the newest document, then ts_rank; storage/search.py). A revision's tsvector is ~2.3 KB
and its text ~2 KB: with the default storage (EXTENDED) PostgreSQL moved the tsvector out of
the row into the TOAST table, so every candidate cost a TOAST index lookup and TOAST pages on
top of its heap page, twice (the check, then the rank). STORAGE MAIN keeps the tsvector in the
row (compressed when the row is long); the text, read only for the returned hits' snippets, is
moved out of the row first.

SET STORAGE applies to rows written from now on; CLUSTER rewrites the existing ones (in id
order, the order a search walks) and rebuilds the indexes. It holds an exclusive lock on
search_doc while it runs (23 s for the 457k documents of a 1M-capture archive, bench/
archive_scale.py: heap 531 -> 813 MB, table with TOAST and indexes 1,264 -> 1,316 MB), during
which crawls wait. Measured there: search p95 209 -> 82 ms, the backend's CPU p95 205 -> 79 ms.
SQLite stores rows its own way: nothing to do there.

Hand-written (no import of storage.models), so it stays valid as models change.
"""
from alembic import op

revision = "0011_search_tsv_in_row"
down_revision = "0010_page_uid"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_doc ALTER COLUMN tsv SET STORAGE MAIN")
    op.execute("CLUSTER search_doc USING search_doc_pkey")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE search_doc ALTER COLUMN tsv SET STORAGE EXTENDED")
