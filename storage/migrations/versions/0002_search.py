"""full-text search: search_doc, with FTS5 (SQLite) or a tsvector + GIN index (PostgreSQL)

Revision ID: 0002_search
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002_search"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_doc",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("page_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("revision_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("comment_version_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["page_id"], ["page.id"]),
        sa.ForeignKeyConstraint(["revision_id"], ["revision.id"]),
        sa.ForeignKeyConstraint(["comment_version_id"], ["comment_version.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_search_doc_page_id", "search_doc", ["page_id"])
    op.create_index("ix_search_doc_revision_id", "search_doc", ["revision_id"])
    op.create_index("ix_search_doc_comment_version_id", "search_doc", ["comment_version_id"])
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "title, text, content='search_doc', content_rowid='id', tokenize='porter unicode61')"
        )
        op.execute(
            "CREATE TRIGGER search_doc_ai AFTER INSERT ON search_doc BEGIN "
            "INSERT INTO search_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER search_doc_ad AFTER DELETE ON search_doc BEGIN "
            "INSERT INTO search_fts(search_fts, rowid, title, text) "
            "VALUES ('delete', old.id, old.title, old.text); END"
        )
        op.execute(
            "CREATE TRIGGER search_doc_au AFTER UPDATE ON search_doc BEGIN "
            "INSERT INTO search_fts(search_fts, rowid, title, text) "
            "VALUES ('delete', old.id, old.title, old.text); "
            "INSERT INTO search_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END"
        )
    else:
        op.execute(
            "ALTER TABLE search_doc ADD COLUMN tsv tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
            "setweight(to_tsvector('english', coalesce(text, '')), 'B')) STORED"
        )
        op.execute("CREATE INDEX ix_search_doc_tsv ON search_doc USING GIN (tsv)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_doc")
