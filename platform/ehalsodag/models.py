"""Imports every domain's models so that the metadata (and Alembic) sees all tables."""

from ehalsodag.agenda.models import Block, Event, Stage
from ehalsodag.attendees.models import Attendee
from ehalsodag.chat.models import ChatMessage
from ehalsodag.days.models import BankQuestion
from ehalsodag.evaluation.models import EvaluationAnswer, EvaluationQuestion, EvaluationSubmission
from ehalsodag.materials.models import Material, MaterialVisit
from ehalsodag.polls.models import Poll, PollOption, PollResponse
from ehalsodag.qa.models import Question, QuestionUpvote
from ehalsodag.results.models import AttendanceSample
from ehalsodag.safety.models import UndoAction
from ehalsodag.screen.models import ScreenChoice
from ehalsodag.staff.models import ApiToken, AuditEntry, StaffInvitation, StaffRole, StaffSession, StaffUser

__all__ = [
    "ApiToken", "AttendanceSample", "Attendee", "AuditEntry", "BankQuestion", "EvaluationAnswer", "EvaluationQuestion",
    "EvaluationSubmission", "Block", "ChatMessage", "Event", "Poll", "PollOption", "PollResponse",
    "Material", "MaterialVisit", "Question", "QuestionUpvote", "ScreenChoice", "Stage", "StaffInvitation", "StaffRole",
    "StaffSession", "StaffUser", "UndoAction",
]
