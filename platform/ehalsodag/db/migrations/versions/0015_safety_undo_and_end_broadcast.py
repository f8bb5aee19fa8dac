"""undo within seconds (undo_action) and the end of the broadcast (event.broadcast_ended_at)

Revision ID: 0015_safety
Revises: 0015_perf
Create Date: 2026-11-24 17:40:00
"""

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

revision = '0015_safety'
down_revision = '0015_perf'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'undo_action',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('target_id', sa.BigInteger(), nullable=False),
        sa.Column('attendee_id', sa.BigInteger(), nullable=True),
        sa.Column('stage_id', sa.BigInteger(), nullable=True),
        sa.Column('actor', sa.String(length=254), nullable=False),
        sa.Column('before', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'),
                  nullable=True),
        sa.Column('expires_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column('undone_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column('finished_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True),
        sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_undo_action_event_id_event'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_undo_action')),
    )
    with op.batch_alter_table('undo_action', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_undo_action_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_undo_action_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_undo_action_finished_at'), ['finished_at'], unique=False)
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('broadcast_ended_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('broadcast_ended_at')
    with op.batch_alter_table('undo_action', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_undo_action_finished_at'))
        batch_op.drop_index(batch_op.f('ix_undo_action_expires_at'))
        batch_op.drop_index(batch_op.f('ix_undo_action_event_id'))
    op.drop_table('undo_action')
