"""durable frontier: crawl jobs, frontier entries with leases, per-host politeness state

Revision ID: 0003_frontier
Revises: 0002_search
Create Date: 2026-11-25 02:41:58.315426
"""
from alembic import op
import sqlalchemy as sa



revision = '0003_frontier'
down_revision = '0002_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('crawl_job',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    op.create_table('host_state',
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('next_allowed_at', sa.DateTime(), nullable=False),
    sa.Column('crawl_delay', sa.Double(), nullable=True),
    sa.Column('backoff_until', sa.DateTime(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('robots_status', sa.Integer(), nullable=True),
    sa.Column('robots_body', sa.Text(), nullable=True),
    sa.Column('robots_expires_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('host')
    )
    op.create_table('frontier',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('job_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Double(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('next_fetch_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_outcome', sa.String(length=40), nullable=True),
    sa.Column('last_fetched_at', sa.DateTime(), nullable=True),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(), nullable=True),
    sa.Column('etag', sa.Text(), nullable=True),
    sa.Column('last_modified', sa.Text(), nullable=True),
    sa.Column('recrawl_seconds', sa.Double(), nullable=True),
    sa.ForeignKeyConstraint(['job_id'], ['crawl_job.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job_id', 'url', name='uq_frontier_job_url')
    )
    with op.batch_alter_table('frontier', schema=None) as batch_op:
        batch_op.create_index('ix_frontier_due', ['state', 'next_fetch_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('frontier', schema=None) as batch_op:
        batch_op.drop_index('ix_frontier_due')

    op.drop_table('frontier')
    op.drop_table('host_state')
    op.drop_table('crawl_job')
