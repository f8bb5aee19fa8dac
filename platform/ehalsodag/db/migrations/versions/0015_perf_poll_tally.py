"""kept poll tallies (poll_tally) and the websocket vote's idempotency key (poll_response.vote_key)

Revision ID: 0015_perf
Revises: 0015_presenter
Create Date: 2026-11-24 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0015_perf'
down_revision = '0015_presenter'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('poll_tally',
    sa.Column('poll_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], name=op.f('fk_poll_tally_poll_id_poll'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('poll_id', 'key', name=op.f('pk_poll_tally'))
    )
    with op.batch_alter_table('poll_response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vote_key', sa.String(length=64), nullable=True))
    # the tallies of answers given before this revision are counted when the app starts (tally.rebuild)


def downgrade() -> None:
    with op.batch_alter_table('poll_response', schema=None) as batch_op:
        batch_op.drop_column('vote_key')
    op.drop_table('poll_tally')
