"""Undo within ten seconds: hide a question, mute an attendee, delete a chat message, erase one's own data.

Each undoable action runs the domain's own service and, in the same unit of work, keeps what it changed in an
:class:`~ehalsodag.safety.models.UndoAction`: committed with the action, so a restart inside the window loses
nothing. Undoing goes the one road too: it restores the rows in the request's unit of work and records what
changed, so every page shows the restore. Once the window has passed, :func:`finish_expired` empties what was
kept (an erasure's rows with it), at start-up as well as every few seconds (:class:`UndoFinisher`), so erased
data really goes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.agenda.stages import main_stage_id
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Topic, changed
from ehalsodag.chat import service as chat_service
from ehalsodag.chat.models import ChatMessage
from ehalsodag.db.engine import Database
from ehalsodag.errors import RefusedError
from ehalsodag.i18n import _
from ehalsodag.privacy import service as privacy_service
from ehalsodag.qa import service as qa_service
from ehalsodag.qa.models import Question
from ehalsodag.safety import erasure
from ehalsodag.safety.models import UndoAction
from ehalsodag.staff import audit

log = logging.getLogger(__name__)

#: How long an action can be undone.
WINDOW = dt.timedelta(seconds=10)
#: The kinds a moderator undoes (an erasure is its attendee's alone).
STAFF_KINDS = ("hide", "mute", "chat_delete")


class UndoError(RefusedError):
    """An undo that cannot be done (too late, already undone, changed since)."""

    default_status = 409


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _remember(session: AsyncSession, *, event_id: int, kind: str, target_id: int, before: dict[str, Any],
                    actor: str, stage_id: int | None = None, attendee_id: int | None = None) -> UndoAction:
    action = UndoAction(event_id=event_id, kind=kind, target_id=target_id, before=before, actor=actor[:254],
                        stage_id=stage_id or await main_stage_id(session, event_id), attendee_id=attendee_id,
                        expires_at=_now() + WINDOW)
    session.add(action)
    await session.flush()
    return action


# --- the undoable actions -------------------------------------------------------------------------------------


async def hide_question(session: AsyncSession, question: Question, actor: str) -> UndoAction | None:
    """Hide a question (the domain's ``moderate``); an undo when it changed anything."""
    before = {"status": question.status, "highlighted": question.highlighted}
    await qa_service.moderate(session, question, "hide", actor)
    if before["status"] == "hidden":
        return None
    return await _remember(session, event_id=question.event_id, kind="hide", target_id=question.id, before=before,
                           actor=actor, stage_id=question.stage_id)


async def mute(session: AsyncSession, attendee_id: int, event: Event, actor: str) -> UndoAction | None:
    """Mute an attendee for the day; an undo when they were not muted already."""
    attendee = await session.get(Attendee, attendee_id)
    was_muted = attendee is not None and attendee.muted_at is not None
    attendee = await chat_service.mute(session, attendee_id, event, actor)
    if was_muted:
        return None
    return await _remember(session, event_id=event.id, kind="mute", target_id=attendee.id, before={"muted": False},
                           actor=actor, stage_id=attendee.stage_id)


async def delete_message(session: AsyncSession, message_id: int, event: Event, actor: str) -> UndoAction | None:
    """Delete a chat message; an undo when it was shown."""
    message = await session.get(ChatMessage, message_id)
    was_deleted = message is not None and message.deleted
    message = await chat_service.delete_message(session, message_id, event, actor)
    if was_deleted:
        return None
    return await _remember(session, event_id=event.id, kind="chat_delete", target_id=message.id,
                           before={"deleted": False}, actor=actor, stage_id=message.stage_id)


async def erase_own_data(session: AsyncSession, attendee: Attendee) -> UndoAction:
    """Delete everything the attendee posted (the privacy domain's erasure), keeping the rows for the window."""
    kept = await erasure.own_rows(session, attendee)
    await privacy_service.delete_own_data(session, attendee)
    return await _remember(session, event_id=attendee.event_id, kind="erase", target_id=attendee.id, before=kept,
                           actor=f"attendee:{attendee.id}", stage_id=attendee.stage_id, attendee_id=attendee.id)


# --- undo ------------------------------------------------------------------------------------------------------


async def load(session: AsyncSession, undo_id: int) -> UndoAction:
    """The undo ``undo_id``, locked for this transaction; 404 if there is none."""
    action = (await session.execute(
        select(UndoAction).where(UndoAction.id == undo_id).with_for_update())).scalar_one_or_none()
    if action is None:
        raise UndoError(_("There is nothing to undo."), 404)
    return action


def open_for_undo(action: UndoAction, at: dt.datetime | None = None) -> bool:
    """Whether ``action`` can still be undone."""
    return action.undone_at is None and action.finished_at is None and (at or _now()) < action.expires_at


async def undo(session: AsyncSession, action: UndoAction, actor: str) -> str:
    """Restore exactly the state before ``action`` (its caller checked who may); return what was done."""
    if action.undone_at is not None:
        raise UndoError(_("That was undone already."))
    if not open_for_undo(action):
        raise UndoError(_("Too late to undo: the %(seconds)d seconds have passed.",
                          seconds=int(WINDOW.total_seconds())))
    before = action.before or {}
    if action.kind == "hide":
        message = await _unhide(session, action, before, actor)
    elif action.kind == "mute":
        attendee = await session.get(Attendee, action.target_id)
        if attendee is None or attendee.muted_at is None:
            raise UndoError(_("That has changed since; there is nothing to undo."))
        event = await session.get(Event, action.event_id)
        assert event is not None
        await chat_service.unmute(session, attendee.id, event, actor)
        message = _("Undone: the attendee can write again.")
    elif action.kind == "chat_delete":
        chat_message = await session.get(ChatMessage, action.target_id)
        if chat_message is None or not chat_message.deleted:
            raise UndoError(_("That has changed since; there is nothing to undo."))
        await chat_service.undelete_message(session, chat_message, actor)
        message = _("Undone: the message is back in the chat.")
    elif action.kind == "erase":
        attendee = await session.get(Attendee, action.target_id)
        if attendee is None:
            raise UndoError(_("There is nothing to undo."), 404)
        await erasure.restore(session, attendee, before)
        audit.record(session, actor=actor, action="attendee.restore_own_data", event_id=action.event_id)
        message = _("Undone: everything you wrote is back.")
    else:  # pragma: no cover - kinds are ours
        raise UndoError(_("There is nothing to undo."), 404)
    action.undone_at = _now()
    action.before = None
    return message


async def _unhide(session: AsyncSession, action: UndoAction, before: dict[str, Any], actor: str) -> str:
    question = await session.get(Question, action.target_id)
    if question is None or question.status != "hidden":
        raise UndoError(_("That has changed since; there is nothing to undo."))
    touched = [question.id]
    question.status = str(before.get("status") or "approved")
    if before.get("highlighted"):  # back on stage: one question at a time, as "put on stage" does
        others = await session.execute(
            update(Question).where(Question.event_id == question.event_id, Question.id != question.id,
                                   Question.highlighted.is_(True)).values(highlighted=False).returning(Question.id))
        touched += others.scalars().all()
        question.highlighted = True
    audit.record(session, actor=actor, action="question.unhide", event_id=question.event_id, question=question.id)
    await session.flush()
    changed(session, Topic.QUESTION, question.event_id, *touched, attendees=[question.attendee_id])
    if question.highlighted:
        changed(session, Topic.STAGE, question.event_id, question.stage_id)
    return _("Undone: the question is shown again.")


# --- the end of the window ---------------------------------------------------------------------------------------


async def finish_expired(session: AsyncSession, at: dt.datetime | None = None, limit: int = 500) -> int:
    """Empty what the undos past their window kept (an erasure's rows: then they are gone for good)."""
    at = at or _now()
    rows = list((await session.execute(
        select(UndoAction).where(UndoAction.finished_at.is_(None), UndoAction.expires_at <= at)
        .order_by(UndoAction.id).limit(limit).with_for_update(skip_locked=True))).scalars())
    for row in rows:
        row.before = None
        row.finished_at = at
    return len(rows)


class UndoFinisher:
    """Runs :func:`finish_expired` every few seconds from start-up on (a restart inside a window finishes it)."""

    def __init__(self, db: Database, interval: float = 2.0) -> None:
        self.db = db
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Finish every undo past its window now (a write only when there is one: most turns only read)."""
        async with self.db.reader() as session:
            waiting = (await session.execute(select(UndoAction.id).where(
                UndoAction.finished_at.is_(None), UndoAction.expires_at <= _now()).limit(1))).first()
        if waiting is None:
            return 0
        async with self.db.unit_of_work() as session:
            return await finish_expired(session)

    def start(self) -> None:
        """Start finishing in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)  # the first turn soon after start-up, not during it
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database away for a moment: try again at the next turn
                log.warning("could not finish expired undos", exc_info=True)

    async def stop(self) -> None:
        """Stop (what is past its window is finished at the next start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
