"""a moderator's written reply to a question (shown under it to attendees)

Revision ID: 0015_phone
Revises: 0015_safety
Create Date: 2026-11-24 17:50:00
"""

import sqlalchemy as sa
from alembic import op
from advanced_alchemy.types import DateTimeUTC


revision = '0015_phone'
down_revision = '0015_safety'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('replied_at', DateTimeUTC(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_column('replied_at')
        batch_op.drop_column('reply_text')
