"""optional English texts of a programme: block title and description, evaluation question text and labels

Revision ID: 0014
Revises: 0012
Create Date: 2026-11-24 14:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql


revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('block', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title_en', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('description_en', sa.Text(), nullable=True))
    with op.batch_alter_table('evaluation_question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_en', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column(
            'labels_en', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('evaluation_question', schema=None) as batch_op:
        batch_op.drop_column('labels_en')
        batch_op.drop_column('text_en')
    with op.batch_alter_table('block', schema=None) as batch_op:
        batch_op.drop_column('description_en')
        batch_op.drop_column('title_en')
