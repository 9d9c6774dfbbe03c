"""frontier.run_id (the run that queued an entry) and leader_lease (one scheduler at a time)

Revision ID: 0007_runs_and_leader
Revises: 0006_failed_profile
"""
from alembic import op
import sqlalchemy as sa

revision = "0007_runs_and_leader"
down_revision = "0006_failed_profile"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("frontier") as batch:
        batch.add_column(sa.Column("run_id", BigId, nullable=True))
        batch.create_foreign_key("fk_frontier_run", "crawl_run", ["run_id"], ["id"])
    op.create_table(
        "leader_lease",
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("role"),
    )


def downgrade() -> None:
    op.drop_table("leader_lease")
    with op.batch_alter_table("frontier") as batch:
        batch.drop_constraint("fk_frontier_run", type_="foreignkey")
        batch.drop_column("run_id")
