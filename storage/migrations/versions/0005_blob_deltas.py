"""blob deltas: a blob may be stored as a delta of another (its base)

Revision ID: 0005_blob_deltas
Revises: 0004_schedules
Create Date: 2026-11-25

Existing blobs become keyframes of layout 0; `storage.relayout` re-encodes them as deltas,
resumably. Hand-written (no import of storage.models), so it stays valid as models change.

SQLite: the columns are added with plain ALTER TABLE ADD COLUMN (the base's REFERENCES
inline). A batch "move and copy" would drop and re-create `blob`, which capture rows
reference; with foreign keys on, SQLite refuses that drop.
"""
from alembic import op
import sqlalchemy as sa


revision = "0005_blob_deltas"
down_revision = "0004_schedules"
branch_labels = None
depends_on = None


def _columns() -> list[sa.Column]:
    return [
        sa.Column("depth", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("seq", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("is_keyframe", sa.Boolean(), nullable=False, server_default=sa.text("true")),
        sa.Column("layout", sa.SmallInteger(), nullable=False, server_default="0"),
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Alembic would emit the foreign key as a separate ALTER, which SQLite lacks.
        op.execute("ALTER TABLE blob ADD COLUMN base_digest VARCHAR(64) REFERENCES blob (digest)")
        for col in _columns():
            op.add_column("blob", col)
        op.create_index("ix_blob_base_digest", "blob", ["base_digest"], unique=False)
        return
    with op.batch_alter_table("blob", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_digest", sa.String(length=64), nullable=True))
        for col in _columns():
            batch_op.add_column(col)
        batch_op.create_foreign_key("fk_blob_base_digest_blob", "blob", ["base_digest"], ["digest"])
        batch_op.create_index("ix_blob_base_digest", ["base_digest"], unique=False)


def downgrade() -> None:
    # Deltas cannot be kept without their bases' columns: restore them as keyframes first
    # (storage.relayout has no reverse; a downgrade of an archive with deltas is refused).
    bind = op.get_bind()
    n = bind.execute(sa.text("SELECT count(*) FROM blob WHERE base_digest IS NOT NULL")).scalar()
    if n:
        raise RuntimeError(f"{n} blobs are stored as deltas; a downgrade would lose them")
    op.drop_index("ix_blob_base_digest", table_name="blob")
    with op.batch_alter_table("blob", schema=None) as batch_op:
        if bind.dialect.name != "sqlite":
            batch_op.drop_constraint("fk_blob_base_digest_blob", type_="foreignkey")
        for name in ("layout", "is_keyframe", "seq", "depth", "base_digest"):
            batch_op.drop_column(name)
