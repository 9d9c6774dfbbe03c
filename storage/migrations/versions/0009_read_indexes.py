"""read-path indexes: each step of "as of T" and search's validity windows is one index walk

Revision ID: 0009_read_indexes
Revises: 0008_redactions

Two indexes are replaced by wider ones that serve the same lookups and also the read path's
ORDER BY ... LIMIT 1, so no step sorts (seen with EXPLAIN / EXPLAIN QUERY PLAN on 100k
captures, SQLite and PostgreSQL):

- revision (page_id, first_seen) -> (page_id, first_seen, ordinal): the revision valid at T is
  `WHERE page_id = ? AND first_seen <= T ORDER BY first_seen DESC, ordinal DESC LIMIT 1`, a
  backward walk that stops at its first entry (SQLite used a temp B-tree for the ordinal,
  PostgreSQL an incremental sort).
- comment_version (comment_id) -> (comment_id, first_seen): a comment's text at T (its last
  version first seen at or before T) and a version's end (the next version's first_seen, in
  search hits' validity windows) are one seek each instead of reading and sorting every
  version of the comment.

Replaced rather than added, so the write path maintains no more index entries than before.
The capture (page_id, fetched_at) index the latest capture at or before T walks exists since
0001. Hand-written (no import of storage.models), so it stays valid as models change.
"""
from alembic import op

revision = "0009_read_indexes"
down_revision = "0008_redactions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_revision_page_first_seen_ordinal", "revision", ["page_id", "first_seen", "ordinal"])
    op.drop_index("ix_revision_page_first_seen", table_name="revision")
    op.create_index("ix_comment_version_comment_first_seen", "comment_version", ["comment_id", "first_seen"])
    op.drop_index("ix_comment_version_comment_id", table_name="comment_version")


def downgrade() -> None:
    op.create_index("ix_comment_version_comment_id", "comment_version", ["comment_id"])
    op.drop_index("ix_comment_version_comment_first_seen", table_name="comment_version")
    op.create_index("ix_revision_page_first_seen", "revision", ["page_id", "first_seen"])
    op.drop_index("ix_revision_page_first_seen_ordinal", table_name="revision")
