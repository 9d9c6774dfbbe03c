"""schedules

Revision ID: 0004_schedules
Revises: 0003_frontier
Create Date: 2026-11-25 02:42:55.085597
"""
from alembic import op
import sqlalchemy as sa



revision = '0004_schedules'
down_revision = '0003_frontier'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('schedule',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_fire_at', sa.DateTime(), nullable=True),
    sa.Column('last_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['last_run_id'], ['crawl_run.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('schedule_fire',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('schedule_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fire_time', sa.DateTime(), nullable=False),
    sa.Column('fired_at', sa.DateTime(), nullable=False),
    sa.Column('fired_by', sa.String(length=200), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['crawl_run.id'], ),
    sa.ForeignKeyConstraint(['schedule_id'], ['schedule.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('schedule_id', 'fire_time', name='uq_fire_schedule_time')
    )


def downgrade() -> None:
    op.drop_table('schedule_fire')
    op.drop_table('schedule')
