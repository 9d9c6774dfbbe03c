"""redaction (the audit trail of removed personal data) and capture.redacted / redacted_digest

Revision ID: 0008_redactions
Revises: 0007_runs_and_leader

A raw-redacted capture keeps its row (the fetch happened: time, status, headers) but loses its
payload: `blob_digest` is cleared (it is a foreign key and the blob is deleted) and the digest
it had is kept in `redacted_digest` as evidence of what was there.

SQLite: the capture columns are added with plain ALTER TABLE ADD COLUMN (no constraints on
them); a batch "move and copy" would drop and re-create `capture`, which other rows reference.
"""
from alembic import op
import sqlalchemy as sa

revision = "0008_redactions"
down_revision = "0007_runs_and_leader"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "redaction",
        sa.Column("id", BigId, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("target_kind", sa.String(length=20), nullable=False),
        sa.Column("target_value", sa.Text(), nullable=False),
        sa.Column("scope_url", sa.Text(), nullable=True),
        sa.Column("raw_redacted", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("removed", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_redaction_at", "redaction", ["at"])
    op.add_column(
        "capture", sa.Column("redacted", sa.Boolean(), nullable=False, server_default=sa.text("false"))
    )
    op.add_column("capture", sa.Column("redacted_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    n = bind.execute(sa.text("SELECT count(*) FROM redaction")).scalar()
    if n:
        # The audit trail is what proves a redaction happened; never drop it silently.
        raise RuntimeError(f"{n} redactions are recorded; a downgrade would lose their audit trail")
    with op.batch_alter_table("capture") as batch:
        batch.drop_column("redacted_digest")
        batch.drop_column("redacted")
    op.drop_index("ix_redaction_at", table_name="redaction")
    op.drop_table("redaction")
