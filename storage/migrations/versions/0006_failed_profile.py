"""derivation.failed_profile: which profile's required fields failed on a degraded parse

Revision ID: 0006_failed_profile
Revises: 0005_blob_deltas
"""
from alembic import op
import sqlalchemy as sa

revision = "0006_failed_profile"
down_revision = "0005_blob_deltas"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("derivation") as batch:
        batch.add_column(sa.Column("failed_profile", sa.String(length=100), nullable=True))
    op.create_index("ix_derivation_failed_profile", "derivation", ["failed_profile"])


def downgrade() -> None:
    op.drop_index("ix_derivation_failed_profile", "derivation")
    with op.batch_alter_table("derivation") as batch:
        batch.drop_column("failed_profile")
