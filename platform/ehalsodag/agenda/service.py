"""Agenda services: load programme files into events, and the moderator's run-of-show actions.

Services change rows in the caller's unit of work and record what changed (ehalsodag.changes); they never
commit.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ehalsodag.agenda import runofshow, tracks
from ehalsodag.agenda.files import AgendaSpec
from ehalsodag.agenda.models import Block, Event, Stage
from ehalsodag.changes import Topic, changed
from ehalsodag.db.engine import Database
from ehalsodag.errors import RefusedError
from ehalsodag.evaluation.models import EvaluationQuestion
from ehalsodag.i18n import _
from ehalsodag.polls.models import Poll, PollOption, PollResponse
from ehalsodag.staff import audit

MAX_ANNOUNCEMENT = 500
MAX_SHIFT_MINUTES = 240


class ActionError(RefusedError):
    """A run-of-show action that cannot be done; the message is shown to the moderator."""

    default_status = 400


def utcnow() -> dt.datetime:
    """The current time, timezone-aware."""
    return dt.datetime.now(dt.UTC)


async def event_by_slug(session: AsyncSession, slug: str) -> Event | None:
    """The event with ``slug``, with its stages and blocks."""
    return (await session.execute(select(Event).where(Event.slug == slug))).scalar_one_or_none()


async def load_event(session: AsyncSession, slug: str) -> Event:
    """The event with ``slug``, or a 404 refusal with a readable message."""
    event = await event_by_slug(session, slug)
    if event is None:
        raise ActionError(_("No event with that address."), status_code=404)
    return event


async def event_by_id(session: AsyncSession, event_id: int) -> Event | None:
    """The event with its stages and blocks (the live layer's loader)."""
    return await session.get(Event, event_id)


class EventIds:
    """Event slugs → ids, remembered: joins and websocket connects need no query to find their event.

    A slug always names the same event, so an entry never goes stale; only rehearsal copies are deleted, each under
    a slug of its own (a random suffix, or the demo's made at start-up), and :meth:`forget` drops its entry.
    """

    def __init__(self, db: Database, size: int = 10_000) -> None:
        self.db = db
        self.size = size
        self._ids: dict[str, int] = {}

    async def id_of(self, slug: str) -> int | None:
        """The id of the event with ``slug``, or None."""
        event_id = self._ids.get(slug)
        if event_id is None:
            async with self.db.reader() as session:
                event_id = (await session.execute(select(Event.id).where(Event.slug == slug))).scalar()
            if event_id is None:
                return None
            if len(self._ids) >= self.size:
                self._ids.clear()
            self._ids[slug] = event_id
        return event_id

    def forget(self, slug: str) -> None:
        """Drop a deleted event's entry (a rehearsal copy)."""
        self._ids.pop(slug, None)

    async def stage_id_of(self, event_id: int, key: str | int | None) -> int | None:
        """The id of the event's stage named by ``key`` (its key in the programme file, or its id), or None."""
        if key is None or key == "":
            return None
        async with self.db.reader() as session:
            rows = (await session.execute(select(Stage.id, Stage.key).where(Stage.event_id == event_id))).all()
        return next((stage_id for stage_id, stage_key in rows if str(key) in (stage_key, str(stage_id))), None)


async def event_by_code(session: AsyncSession, code: str) -> Event | None:
    """The event whose join code is ``code``."""
    return (await session.execute(select(Event).where(Event.join_code == code))).scalar_one_or_none()


async def stage_by_code(session: AsyncSession, code: str) -> Stage | None:
    """The stage (a region of a national day) whose join code is ``code``."""
    return (await session.execute(select(Stage).options(selectinload(Stage.event)).where(
        Stage.join_code == code))).scalar_one_or_none()


async def list_events(session: AsyncSession) -> list[Event]:
    """Every event, newest day first (not the rehearsal copies: they are reached from the control panel)."""
    return list((await session.execute(select(Event).where(Event.rehearsal_of_id.is_(None)).order_by(
        Event.date.desc(), Event.title))).scalars())


async def _new_join_code(session: AsyncSession, taken: set[str] | None = None) -> str:
    """A six-digit code that no event and no stage has (nor any in ``taken``, codes handed out but not yet
    flushed); it is added to ``taken``. Joining by code finds an event or a stage, so the two never share one."""
    while True:
        code = f"{secrets.randbelow(900_000) + 100_000}"
        if taken is not None and code in taken:
            continue
        if await event_by_code(session, code) is None and await stage_by_code(session, code) is None:
            if taken is not None:
                taken.add(code)
            return code


async def _stage_in_use(session: AsyncSession, stage: Stage) -> bool:
    """Whether any row (a block, even a removed one, a question, a poll, an attendee, ...) refers to ``stage``."""
    import ehalsodag.models  # noqa: F401  (every table that may refer to a stage is mapped)

    for table in Stage.metadata.tables.values():
        for foreign_key in table.foreign_keys:
            if foreign_key.column.table is Stage.__table__ and foreign_key.column.name == "id":
                found = await session.execute(select(foreign_key.parent).where(foreign_key.parent == stage.id).limit(1))
                if found.first() is not None:
                    return True
    return False


async def load_spec(session: AsyncSession, spec: AgendaSpec) -> tuple[Event, bool]:
    """Create the event or update it in place; return it and whether it was new.

    Blocks are matched by their id in the file, so questions and votes attached to a block stay
    attached; a block gone from the file is marked removed, never deleted. Stages are matched by their id
    too; a stage gone from the file is deleted only when nothing refers to it, else kept (after the others).
    When the event has more than one stage, every stage gets its own join code (kept on reload).
    """
    event = await event_by_slug(session, spec.slug)
    created = event is None
    if event is None:
        event = Event(slug=spec.slug, join_code=await _new_join_code(session), stages=[], blocks=[])
        session.add(event)
    event.title = spec.title
    event.description = spec.description
    event.organiser = spec.organiser
    event.date = spec.date
    event.timezone = spec.timezone
    event.recording_url = spec.recording_url
    event.allowed_stream_hosts = list(spec.allowed_stream_hosts)
    event.source_file = spec.source_file
    event.retention_days = spec.retention_days

    stages = {stage.key: stage for stage in event.stages}
    for position, stage_spec in enumerate(spec.stages):
        stage = stages.get(stage_spec.key)
        if stage is None:
            stage = Stage(key=stage_spec.key, event=event)
            event.stages.append(stage)
            stages[stage.key] = stage
        stage.name = stage_spec.name
        stage.kind = stage_spec.kind
        stage.position = position
        stage.stream_url = stage_spec.stream_url
    await session.flush()
    if len(spec.stages) > 1:  # a code per stage (a region of a national day): /j/{code} puts you on it
        taken: set[str] = set()
        for stage in event.stages:
            if stage.join_code is None:
                stage.join_code = await _new_join_code(session, taken)

    blocks = {block.key: block for block in event.blocks}
    wanted = {block_spec.key for block_spec in spec.blocks}
    for block_spec in spec.blocks:
        block = blocks.get(block_spec.key)
        if block is None:
            block = Block(key=block_spec.key, event=event, shift_minutes=0)
            event.blocks.append(block)
        block.stage = stages[block_spec.stage]
        block.kind = block_spec.kind
        block.title = block_spec.title
        block.description = block_spec.description
        block.title_en = block_spec.title_en
        block.description_en = block_spec.description_en
        block.theme = block_spec.theme
        block.planned_start = spec.utc(block_spec.start)
        block.planned_end = spec.utc(block_spec.end)
        block.speakers = [s.as_dict() for s in block_spec.speakers]
        block.stream_url = block_spec.stream_url
        block.film_url = block_spec.film_url
        block.recording_url = block_spec.recording_url
        block.removed = False
    await session.flush()
    await _load_polls(session, event, spec)
    await _load_evaluation(session, event, spec)
    for key, block in blocks.items():
        if key not in wanted:
            block.removed = True
            if event.live_block_id == block.id:
                event.live_block_id = None
            for stage in event.stages:
                if stage.live_block_id == block.id:
                    stage.live_block_id = None
    await _drop_stages(session, event, spec)
    audit.record(
        session, actor="cli", action="agenda.load" if created else "agenda.reload", event_id=None,
        slug=spec.slug, blocks=len(spec.blocks), file=spec.source_file,
    )
    await session.flush()
    if not created:  # open pages follow a reloaded programme (a new event has no pages yet)
        poll_ids = (await session.execute(select(Poll.id).where(Poll.event_id == event.id))).scalars().all()
        for topic in (Topic.AGENDA, Topic.STAGE, Topic.EVALUATION):
            changed(session, topic, event.id)
        changed(session, Topic.POLL, event.id, *poll_ids)
    return event, created


async def _drop_stages(session: AsyncSession, event: Event, spec: AgendaSpec) -> None:
    """Delete the stages gone from the file that nothing refers to; keep the others, after the file's stages."""
    wanted = {stage_spec.key for stage_spec in spec.stages}
    position = len(spec.stages)
    for stage in [s for s in event.stages if s.key not in wanted]:
        if await _stage_in_use(session, stage):
            stage.position = position
            position += 1
        else:
            event.stages.remove(stage)


async def _load_polls(session: AsyncSession, event: Event, spec: AgendaSpec) -> None:
    """Create the polls prepared in the file, or update them by id; never touch their answers."""
    existing = {p.key: p for p in (await session.execute(select(Poll).where(Poll.event_id == event.id))).scalars()}
    block_ids = {b.key: b.id for b in event.blocks}
    stage_ids = {b.key: b.stage_id for b in event.blocks}
    for block_spec in spec.blocks:
        for poll_spec in block_spec.polls:
            poll = existing.get(poll_spec.key)
            if poll is None:
                poll = Poll(event_id=event.id, key=poll_spec.key, state="draft", revealed=False, options=[])
                session.add(poll)
            answered = poll.id is not None and (
                await session.execute(select(PollResponse.id).where(PollResponse.poll_id == poll.id).limit(1))
            ).first() is not None
            poll.block_id = block_ids[block_spec.key]
            poll.stage_id = stage_ids[block_spec.key]  # a regional block's poll is its region's
            poll.question = poll_spec.question
            poll.results = poll_spec.results
            poll.auto_open, poll.auto_close = poll_spec.auto_open, poll_spec.auto_close
            if not answered:  # the shape of a poll that has answers stays as it was answered
                poll.kind = poll_spec.kind
                poll.max_picks = poll_spec.max_picks
                poll.scale_min = poll_spec.scale_min if poll_spec.kind == "scale" else None
                poll.scale_max = poll_spec.scale_max if poll_spec.kind == "scale" else None
                poll.scale_labels = list(poll_spec.scale_labels)
                if [o.label for o in poll.options] != poll_spec.options:
                    poll.options.clear()
                    await session.flush()
                    poll.options.extend(
                        PollOption(label=label, position=i) for i, label in enumerate(poll_spec.options)
                    )


async def _load_evaluation(session: AsyncSession, event: Event, spec: AgendaSpec) -> None:
    """Create or update the evaluation questions by key; a question left out is hidden, never deleted."""
    existing = {
        q.key: q for q in (
            await session.execute(select(EvaluationQuestion).where(EvaluationQuestion.event_id == event.id))
        ).scalars()
    }
    wanted = spec.evaluation.questions if spec.evaluation else []
    if spec.evaluation:
        event.evaluation_minutes = spec.evaluation.open_minutes
    for position, question_spec in enumerate(wanted):
        question = existing.get(question_spec.key)
        if question is None:
            question = EvaluationQuestion(event_id=event.id, key=question_spec.key)
            session.add(question)
        question.kind = question_spec.kind
        question.text = question_spec.text
        question.labels = list(question_spec.labels)
        question.text_en = question_spec.text_en
        question.labels_en = list(question_spec.labels_en) if question_spec.labels_en else None
        question.optional = question_spec.optional
        question.position = position
        question.removed = False
    for key, question in existing.items():
        if key not in {q.key for q in wanted}:
            question.removed = True


def _block_of(event: Event, block_id: int) -> Block:
    block = next((b for b in event.active_blocks() if b.id == block_id), None)
    if block is None:
        raise ActionError(_("No such block in this event."), status_code=404)
    return block


async def go_live(session: AsyncSession, event: Event, block_id: int, actor: str) -> Block:
    """Take a block live now: on the main stage it stays live until another is; a regional block of a national
    day takes its region's attendees onto their own stage until it ends (or its moderator ends it)."""
    block = _block_of(event, block_id)
    if tracks.is_national_day(event) and block.stage_id != tracks.main_stage_id(event):
        block.stage.live_block_id = block.id
        block.ended_at = None
    else:
        event.live_block_id = block.id
        event.broadcast_ended_at = None  # an ended broadcast goes on again
    block.went_live_at = utcnow()
    audit.record(session, actor=actor, action="block.live", event_id=event.id, block=block.key)
    changed(session, Topic.AGENDA, event.id, block.id)
    if block.stage_id == tracks.main_stage_id(event):  # a region's screens follow its AGENDA change alone
        changed(session, Topic.STAGE, event.id)
    return block


async def end_live(session: AsyncSession, event: Event, actor: str) -> None:
    """Go back to following the clock (no block chosen by a moderator)."""
    event.live_block_id = None
    audit.record(session, actor=actor, action="block.clear_live", event_id=event.id)
    changed(session, Topic.AGENDA, event.id)
    changed(session, Topic.STAGE, event.id)


async def end_regional_block(session: AsyncSession, event: Event, stage: Stage, actor: str) -> Block:
    """End the regional block on now on ``stage`` early: its attendees go back to the national programme."""
    block = tracks.regional_block_on(event, stage, utcnow()) if stage is not tracks.main_stage(event) else None
    if block is None:
        raise ActionError(_("No regional block is on now on this stage."), status_code=409)
    block.ended_at = utcnow()
    stage.live_block_id = None
    audit.record(session, actor=actor, action="block.end", event_id=event.id, block=block.key)
    changed(session, Topic.REGION, event.id, stage.id)
    return block


def _blocks_to_shift(event: Event, stage: Stage | None) -> list[Block]:
    """What a shift on ``stage`` moves. A national day's main stage: its own later blocks (regions keep their
    times). A region: its block on now, which runs longer (and so stays on: it is marked live), and its later
    blocks. Any other event: every block after the live one."""
    now = utcnow()
    if not tracks.is_national_day(event):
        moved = runofshow.blocks_to_shift(event.active_blocks(), event.live_block_id, now)
    elif stage is None or stage is tracks.main_stage(event):
        moved = runofshow.blocks_to_shift(tracks.stage_blocks(event, tracks.main_stage(event)), event.live_block_id,
                                          now)
    else:  # the block on now (perhaps taken live early) runs longer instead: see _overrun
        current = tracks.regional_block_on(event, stage, now)
        moved = [b for b in tracks.stage_blocks(event, stage) if b.starts_at >= now and b is not current]
    return [b for b in moved if isinstance(b, Block)]


def _overrun(event: Event, stage: Stage | None, minutes: int) -> Block | None:
    """A region running late: its block on now keeps its start and runs ``minutes`` longer (shorter, if
    negative, but never ending before now); None if no regional block is on."""
    if stage is None or not tracks.is_national_day(event) or stage is tracks.main_stage(event):
        return None
    now = utcnow()
    current = tracks.regional_block_on(event, stage, now)
    if current is None:
        return None
    if current.ends_at + dt.timedelta(minutes=minutes) <= now:
        raise ActionError(_("The block would end before now: end it instead."), status_code=422)
    current.overrun_minutes = (current.overrun_minutes or 0) + minutes
    return current


async def shift_later_blocks(session: AsyncSession, event: Event, minutes: int, actor: str,
                             stage: Stage | None = None) -> list[Block]:
    """Move every block after the live one (or every block not yet started) by ``minutes``; on a national day
    only those of ``stage`` (default: the main stage), and a region's block on now runs ``minutes`` longer."""
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise ActionError(_("Minutes must be a whole number."), status_code=422)
    if minutes == 0 or abs(minutes) > MAX_SHIFT_MINUTES:
        raise ActionError(_("Shift by 1 to %(max)d minutes, earlier or later.", max=MAX_SHIFT_MINUTES), status_code=422)
    day_ends = max((b.ends_at for b in event.active_blocks()), default=None)
    moved = _blocks_to_shift(event, stage)
    running = _overrun(event, stage, minutes)
    if not moved and running is None:
        raise ActionError(_("There are no later blocks to shift."), status_code=409)
    for block in moved:
        assert isinstance(block, Block)
        block.shift_minutes += minutes
    audit.record(
        session, actor=actor, action="blocks.shift", event_id=event.id, minutes=minutes,
        blocks=[b.key for b in moved if isinstance(b, Block)], overrun=running.key if running else None,
    )
    if stage is not None and tracks.is_national_day(event) and stage is not tracks.main_stage(event):
        changed(session, Topic.REGION, event.id, stage.id)  # the national programme did not move
    else:
        changed(session, Topic.AGENDA, event.id)
    if max((b.ends_at for b in event.active_blocks()), default=None) != day_ends:
        changed(session, Topic.EVALUATION, event.id)  # the evaluation opens when the last block ends
    return [*([running] if running else []), *(b for b in moved if isinstance(b, Block))]


async def set_announcement(session: AsyncSession, event: Event, text: str | None, actor: str) -> None:
    """Post (or with empty text, clear) the banner shown to every attendee."""
    cleaned = (text or "").strip()
    if len(cleaned) > MAX_ANNOUNCEMENT:
        raise ActionError(_("An announcement is at most %(max)d characters.", max=MAX_ANNOUNCEMENT), status_code=422)
    if "\x00" in cleaned:
        raise ActionError(_("The text contains a NUL character."), status_code=422)
    event.announcement = cleaned or None
    event.announcement_at = utcnow() if cleaned else None
    audit.record(
        session, actor=actor, action="announcement.post" if cleaned else "announcement.clear",
        event_id=event.id, text=cleaned,
    )
    changed(session, Topic.ANNOUNCEMENT, event.id)
