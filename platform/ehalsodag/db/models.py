"""Imports every domain's models so that the metadata (and Alembic) sees all tables."""

from ehalsodag.agenda.models import Block, Event, Stage
from ehalsodag.live.models import Attendee
from ehalsodag.staff.models import ApiToken, AuditEntry, StaffRole, StaffUser

__all__ = ["ApiToken", "Attendee", "AuditEntry", "Block", "Event", "Stage", "StaffRole", "StaffUser"]
