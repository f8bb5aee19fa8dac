"""attendance spans (figures counted by attendee), the organiser's group-size cap for the reach, and no personal
text left in the audit log

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-24 13:30:00
"""

import json

import advanced_alchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


#: Detail keys that name a thing, never what a person wrote (a frozen copy of ehalsodag.staff.audit.NAMES).
NAMES = frozenset({"block", "blocks", "slug", "file", "kind", "format", "email", "role", "overrun"})


def _is_number(value):
    return value is None or isinstance(value, bool | int | float)


def _safe(detail):
    """An audit entry's detail without free text (kept as its length), as ehalsodag.staff.audit.safe_detail."""
    kept = {}
    for key, value in detail.items():
        if _is_number(value) or (key in NAMES and isinstance(value, str | list)):
            kept[key] = value
        elif isinstance(value, str):
            kept[f"{key}_chars"] = len(value)
        elif isinstance(value, list | tuple) and all(_is_number(v) for v in value):
            kept[key] = list(value)
        else:
            kept[f"{key}_items"] = len(value) if isinstance(value, list | tuple | dict) else 1
    return kept


def _scrub_audit_log() -> None:
    """Entries written before the audit log kept no personal text (a deleted chat message, a question edited
    away) lose that text now, not only at the event's purge."""
    audit = sa.table("audit_entry", sa.column("id", sa.BigInteger()),
                     sa.column("detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")))
    bind = op.get_bind()
    for entry_id, detail in bind.execute(sa.select(audit.c.id, audit.c.detail)).all():
        value = json.loads(detail) if isinstance(detail, str) else detail
        if isinstance(value, dict) and _safe(value) != value:
            bind.execute(audit.update().where(audit.c.id == entry_id).values(detail=_safe(value)))


def upgrade() -> None:
    op.create_table('attendance_span',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attendee_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('first_minute', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('last_minute', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('created_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.Column('updated_at', advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attendee_id'], ['attendee.id'], name=op.f('fk_attendance_span_attendee_id_attendee'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['event.id'], name=op.f('fk_attendance_span_event_id_event'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance_span')),
    )
    with op.batch_alter_table('attendance_span', schema=None) as batch_op:
        batch_op.create_index('ix_attendance_span_event_attendee', ['event_id', 'attendee_id'], unique=False)
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reach_max_group_size', sa.Integer(), nullable=True))
    _scrub_audit_log()


def downgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('reach_max_group_size')
    with op.batch_alter_table('attendance_span', schema=None) as batch_op:
        batch_op.drop_index('ix_attendance_span_event_attendee')
    op.drop_table('attendance_span')
