"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 02:13:44.551362
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blob',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('stored_size', sa.BigInteger(), nullable=False),
    sa.Column('codec', sa.String(length=20), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('digest')
    )
    op.create_table('crawl_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('seeds', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stats', sa.JSON(), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('site',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('host')
    )
    op.create_table('page',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('profile', sa.String(length=100), nullable=True),
    sa.Column('first_seen', sa.DateTime(), nullable=True),
    sa.Column('last_seen', sa.DateTime(), nullable=True),
    sa.Column('gone_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('url')
    )
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_page_site_id'), ['site_id'], unique=False)

    op.create_table('capture',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('page_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('crawl_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('requested_url', sa.Text(), nullable=False),
    sa.Column('final_url', sa.Text(), nullable=True),
    sa.Column('redirects', sa.JSON(), nullable=False),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('http_version', sa.String(length=20), nullable=True),
    sa.Column('error_kind', sa.String(length=40), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.Column('not_modified', sa.Boolean(), nullable=False),
    sa.Column('blob_digest', sa.String(length=64), nullable=True),
    sa.Column('payload_size', sa.BigInteger(), nullable=True),
    sa.Column('elapsed_ms', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['blob_digest'], ['blob.digest'], ),
    sa.ForeignKeyConstraint(['crawl_run_id'], ['crawl_run.id'], ),
    sa.ForeignKeyConstraint(['page_id'], ['page.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('capture', schema=None) as batch_op:
        batch_op.create_index('ix_capture_page_time', ['page_id', 'fetched_at'], unique=False)

    op.create_table('comment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('page_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('site_comment_id', sa.String(length=200), nullable=True),
    sa.Column('number', sa.Integer(), nullable=True),
    sa.Column('author', sa.Text(), nullable=True),
    sa.Column('posted', sa.String(length=40), nullable=True),
    sa.Column('reply_to', sa.Text(), nullable=True),
    sa.Column('reply_to_key', sa.String(length=200), nullable=True),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('removed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['page_id'], ['page.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('page_id', 'key', name='uq_comment_page_key')
    )
    op.create_table('url_alias',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('page_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['page_id'], ['page.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('url', 'page_id', name='uq_alias_url_page')
    )
    with op.batch_alter_table('url_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_url_alias_page_id'), ['page_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_url_alias_url'), ['url'], unique=False)

    op.create_table('ad_observation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('capture_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('slot', sa.Text(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['capture_id'], ['capture.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ad_observation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ad_observation_capture_id'), ['capture_id'], unique=False)

    op.create_table('comment_version',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('comment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('capture_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['capture_id'], ['capture.id'], ),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('comment_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comment_version_comment_id'), ['comment_id'], unique=False)

    op.create_table('derivation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('capture_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('parser_version', sa.String(length=40), nullable=False),
    sa.Column('profile', sa.String(length=100), nullable=False),
    sa.Column('profile_hash', sa.String(length=64), nullable=True),
    sa.Column('schema_version', sa.Integer(), nullable=False),
    sa.Column('hash_version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=80), nullable=True),
    sa.Column('degraded', sa.Boolean(), nullable=False),
    sa.Column('versioned', sa.Boolean(), nullable=False),
    sa.Column('current', sa.Boolean(), nullable=False),
    sa.Column('thread', sa.JSON(), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['capture_id'], ['capture.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('derivation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_derivation_capture_id'), ['capture_id'], unique=False)

    op.create_table('revision',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('page_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=80), nullable=False),
    sa.Column('first_capture_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_capture_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('derivation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('valid_to', sa.DateTime(), nullable=True),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('same_as', sa.Integer(), nullable=True),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('modified', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['derivation_id'], ['derivation.id'], ),
    sa.ForeignKeyConstraint(['first_capture_id'], ['capture.id'], ),
    sa.ForeignKeyConstraint(['last_capture_id'], ['capture.id'], ),
    sa.ForeignKeyConstraint(['page_id'], ['page.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('page_id', 'ordinal', name='uq_revision_page_ordinal')
    )
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.create_index('ix_revision_page_first_seen', ['page_id', 'first_seen'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.drop_index('ix_revision_page_first_seen')

    op.drop_table('revision')
    with op.batch_alter_table('derivation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_derivation_capture_id'))

    op.drop_table('derivation')
    with op.batch_alter_table('comment_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comment_version_comment_id'))

    op.drop_table('comment_version')
    with op.batch_alter_table('ad_observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ad_observation_capture_id'))

    op.drop_table('ad_observation')
    with op.batch_alter_table('url_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_url_alias_url'))
        batch_op.drop_index(batch_op.f('ix_url_alias_page_id'))

    op.drop_table('url_alias')
    op.drop_table('comment')
    with op.batch_alter_table('capture', schema=None) as batch_op:
        batch_op.drop_index('ix_capture_page_time')

    op.drop_table('capture')
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_page_site_id'))

    op.drop_table('page')
    op.drop_table('site')
    op.drop_table('crawl_run')
    op.drop_table('blob')
