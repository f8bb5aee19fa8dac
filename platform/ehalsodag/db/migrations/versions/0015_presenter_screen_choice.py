"""what each presenter screen shows: a moderator's choice per event and stage

Revision ID: 0015_presenter
Revises: 0014
Create Date: 2026-11-24 17:40:00
"""

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op


revision = '0015_presenter'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('screen_choice',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('slot', sa.Integer(), nullable=False),
    sa.Column('show', sa.String(length=12), nullable=False),
    sa.Column('poll_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('participants', sa.Boolean(), nullable=False),
    sa.Column('changed_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_screen_choice_event_id_event'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['poll_id'], ['poll.id'], name=op.f('fk_screen_choice_poll_id_poll'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screen_choice')),
    sa.UniqueConstraint('event_id', 'slot', name=op.f('uq_screen_choice_event_id'))
    )
    with op.batch_alter_table('screen_choice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_screen_choice_event_id'), ['event_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('screen_choice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_screen_choice_event_id'))
    op.drop_table('screen_choice')
