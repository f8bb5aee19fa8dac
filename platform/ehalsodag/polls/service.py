"""Poll services: create, open/close/reveal/reset, moderate the open-text wall, results.

They change rows in the caller's unit of work and record what changed (:mod:`ehalsodag.changes`); they
never commit. Answers themselves are stored by the vote writer (:mod:`ehalsodag.polls.batch`)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda import tracks
from ehalsodag.agenda.models import Event
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Topic, changed
from ehalsodag.db.engine import Database
from ehalsodag.errors import RefusedError
from ehalsodag.i18n import _
from ehalsodag.polls import logic, tally
from ehalsodag.polls.models import POLL_KINDS, Poll, PollOption, PollResponse
from ehalsodag.staff import audit
from ehalsodag.staff.models import AuditEntry
from ehalsodag.text import TextError, clean_text

POLL_ACTIONS = ("open", "close", "reveal", "hide_results", "reset")


class PollError(RefusedError):
    """A poll action or answer that cannot be accepted; ``status_code`` is the HTTP answer; ``field`` names the
    form field the message is about (empty: the whole form)."""

    def __init__(self, message: str, status_code: int | None = None, field: str = "") -> None:
        super().__init__(message, status_code)
        self.field = field


@dataclass
class PollSpec:
    """A poll to create, from the control panel, the API or a programme file."""

    kind: str
    question: str
    options: list[str] = field(default_factory=list)
    block_id: int | None = None
    key: str | None = None
    max_picks: int | None = None
    scale_min: int = 1
    scale_max: int = 5
    scale_labels: list[str] = field(default_factory=list)
    results: str = "live"
    auto_open: bool = False
    auto_close: bool = False


#: The kinds whose polls have options (listed one per line in the form).
OPTION_KINDS = ("single", "multiple", "ranking")


def fit_to_kind(spec: PollSpec) -> PollSpec:
    """Drop what does not belong to the spec's kind (a form sent without JavaScript carries every field)."""
    if spec.kind not in OPTION_KINDS:
        spec.options = []
    if spec.kind != "multiple":
        spec.max_picks = None
    if spec.kind != "scale":
        spec.scale_min, spec.scale_max, spec.scale_labels = 1, 5, []
    elif not any(spec.scale_labels):
        spec.scale_labels = []
    return spec


def check_spec(spec: PollSpec) -> PollSpec:
    """Validate and normalise a poll definition; raise PollError with a readable message and its field."""
    if spec.kind not in POLL_KINDS:
        raise PollError(_("The kind must be one of: %(kinds)s.", kinds=", ".join(POLL_KINDS)), field="kind")
    try:
        spec.question = clean_text(spec.question, logic.MAX_QUESTION_LENGTH, what=_("The question"))
    except TextError as exc:
        raise PollError(str(exc), field="question") from exc
    try:
        spec.options = [clean_text(o, logic.MAX_OPTION_LABEL, what=_("An option")) for o in spec.options]
    except TextError as exc:
        raise PollError(str(exc), field="options") from exc
    try:
        spec.scale_labels = [clean_text(label, 60, what=_("A scale label")) for label in spec.scale_labels]
    except TextError as exc:
        raise PollError(str(exc), field="scale_labels") from exc
    if spec.kind in OPTION_KINDS:
        if not 2 <= len(spec.options) <= logic.MAX_OPTIONS:
            raise PollError(_("Give from 2 to %(max)d options.", max=logic.MAX_OPTIONS), field="options")
        if len({o.casefold() for o in spec.options}) != len(spec.options):
            raise PollError(_("Two options have the same text."), field="options")
    elif spec.options:
        raise PollError(_("This kind of poll has no options."), field="options")
    if spec.kind == "multiple":
        if spec.max_picks is not None and not 1 <= spec.max_picks <= len(spec.options):
            raise PollError(_("Max picks must be from 1 to the number of options."), field="max_picks")
    else:
        spec.max_picks = None
    if spec.kind == "scale":
        if not (0 <= spec.scale_min < spec.scale_max <= 10):
            raise PollError(_("A scale runs from 0 or 1 up to at most 10."), field="scale_min")
        if spec.scale_labels and len(spec.scale_labels) != 2:
            raise PollError(_("Give two scale labels: the lowest and the highest."), field="scale_labels")
    if spec.results not in ("live", "on_reveal"):
        raise PollError(_("Results must be 'live' or 'on_reveal'."), field="results")
    return spec


def spec_of(poll: Poll) -> PollSpec:
    """The definition of an existing poll (to edit it, duplicate it or reuse its question)."""
    return PollSpec(
        kind=poll.kind, question=poll.question, options=[o.label for o in poll.options], block_id=poll.block_id,
        max_picks=poll.max_picks, scale_min=poll.scale_min if poll.scale_min is not None else 1,
        scale_max=poll.scale_max if poll.scale_max is not None else 5, scale_labels=list(poll.scale_labels or []),
        results=poll.results, auto_open=poll.auto_open, auto_close=poll.auto_close)


def _block_of(event: Event, block_id: int | None) -> Any:
    block = next((b for b in event.active_blocks() if b.id == block_id), None)
    if block_id is not None and block is None:
        raise PollError(_("No such block in this event."), 404, field="block_id")
    return block


async def create_poll(session: AsyncSession, event: Event, spec: PollSpec, actor: str,
                      stage_id: int | None = None) -> Poll:
    """Create a draft poll (only moderators see it until it opens) on ``stage_id`` (default: its block's stage,
    else the main stage)."""
    check_spec(spec)
    block = _block_of(event, spec.block_id)
    if stage_id is None:
        stage_id = block.stage_id if block is not None else tracks.main_stage_id(event)
    elif tracks.stage_by_id(event, stage_id) is None:
        raise PollError(_("No such stage in this event."), 404)
    poll = Poll(
        event_id=event.id, block_id=spec.block_id, key=spec.key, stage_id=stage_id, kind=spec.kind,
        question=spec.question,
        state="draft", results=spec.results, revealed=False, max_picks=spec.max_picks,
        scale_min=spec.scale_min if spec.kind == "scale" else None,
        scale_max=spec.scale_max if spec.kind == "scale" else None,
        scale_labels=spec.scale_labels, auto_open=spec.auto_open, auto_close=spec.auto_close,
        options=[PollOption(label=label, position=i) for i, label in enumerate(spec.options)],
    )
    session.add(poll)
    await session.flush()
    audit.record(session, actor=actor, action="poll.create", event_id=event.id, poll=poll.id, kind=spec.kind)
    changed(session, Topic.POLL, event.id, poll.id)
    return poll


async def has_responses(session: AsyncSession, poll_id: int) -> bool:
    """Whether anybody has answered the poll."""
    return (await session.execute(
        select(PollResponse.id).where(PollResponse.poll_id == poll_id).limit(1))).first() is not None


async def check_edit(session: AsyncSession, event: Event, poll: Poll, spec: PollSpec) -> PollSpec:
    """Validate an edit of ``poll`` to ``spec`` without changing anything: only a draft without answers may be
    edited, and its block must be on the poll's stage."""
    if poll.state != "draft" or await has_responses(session, poll.id):
        raise PollError(_("This poll has been opened and may have answers, so it can no longer be edited. "
                          "Duplicate it to make a changed copy."), 409)
    check_spec(spec)
    block = _block_of(event, spec.block_id)
    if (block is not None and tracks.is_national_day(event)
            and tracks.stage_of_content(event, block.stage_id) != tracks.stage_of_content(event, poll.stage_id)):
        raise PollError(_("That block is on another stage than the poll."), 422, field="block_id")
    return spec


async def edit_poll(session: AsyncSession, event: Event, poll: Poll, spec: PollSpec, actor: str) -> Poll:
    """Change a draft poll to ``spec`` (every check comes before the first change)."""
    await check_edit(session, event, poll, spec)
    poll.kind, poll.question, poll.block_id = spec.kind, spec.question, spec.block_id
    poll.results, poll.auto_open, poll.auto_close = spec.results, spec.auto_open, spec.auto_close
    poll.max_picks = spec.max_picks
    poll.scale_min = spec.scale_min if spec.kind == "scale" else None
    poll.scale_max = spec.scale_max if spec.kind == "scale" else None
    poll.scale_labels = spec.scale_labels
    if [o.label for o in poll.options] != spec.options:  # a draft has no answers: its options may be replaced
        poll.options = [PollOption(label=label, position=i) for i, label in enumerate(spec.options)]
    audit.record(session, actor=actor, action="poll.edit", event_id=event.id, poll=poll.id, kind=spec.kind)
    await session.flush()
    changed(session, Topic.POLL, event.id, poll.id)
    return poll


async def duplicate_poll(session: AsyncSession, event: Event, poll: Poll, actor: str) -> Poll:
    """A new draft of ``event`` with the settings of ``poll`` (of any state), without its answers."""
    spec = spec_of(poll)
    if spec.block_id not in {b.id for b in event.active_blocks()}:
        spec.block_id = None  # another day's block, or one taken out of the programme
    same_event = poll.event_id == event.id
    return await create_poll(session, event, spec, actor, poll.stage_id if same_event else None)


#: How many earlier polls the question bank shows at most.
BANK_SIZE = 20


async def question_bank(session: AsyncSession, event_ids: Iterable[int] | None, query: str = "",
                        first_event: int | None = None, limit: int = BANK_SIZE) -> list[tuple[Poll, Event]]:
    """Earlier polls of these events (None: every event) whose question contains ``query`` (any case), the
    polls of ``first_event`` first, then the newest; each with its event."""
    statement = select(Poll, Event).join(Event, Event.id == Poll.event_id)
    if event_ids is not None:
        statement = statement.where(Poll.event_id.in_(list(event_ids)))
    words = query.split()[:5]
    for word in words:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Poll.question.ilike(f"%{escaped}%", escape="\\"))
    order = [(Poll.event_id != first_event)] if first_event is not None else []
    statement = statement.order_by(*order, Event.date.desc(), Poll.id.desc()).limit(limit)
    return [(poll, event) for poll, event in (await session.execute(statement)).tuples()]


async def poll_by_id(session: AsyncSession, poll_id: int) -> Poll:
    """The poll or a 404 PollError."""
    poll = await session.get(Poll, poll_id)
    if poll is None:
        raise PollError(_("No such poll."), 404)
    return poll


class PollEvents:
    """Which event each poll belongs to (that never changes), remembered so that a vote needs no query
    before it reaches the vote writer, which checks everything else in the transaction that stores it."""

    def __init__(self, db: Database, size: int = 50_000) -> None:
        self.db = db
        self.size = size
        self._event_of: dict[int, int] = {}
        #: Lookups under way: the thousands of first votes on a poll just opened wait for one query, not each
        #: for its own.
        self._reading: dict[int, asyncio.Future[int | None]] = {}

    async def event_of(self, poll_id: int) -> int:
        """The poll's event id, or a 404 PollError."""
        event_id = self._event_of.get(poll_id)
        if event_id is None:
            reading = self._reading.get(poll_id)
            if reading is None:
                reading = self._reading[poll_id] = asyncio.ensure_future(self._read(poll_id))
                reading.add_done_callback(lambda _done: self._reading.pop(poll_id, None))
            event_id = await asyncio.shield(reading)
            if event_id is None:
                raise PollError(_("No such poll."), 404)
            if len(self._event_of) >= self.size:
                self._event_of.clear()
            self._event_of[poll_id] = event_id
        return event_id

    async def _read(self, poll_id: int) -> int | None:
        async with self.db.reader() as session:
            return (await session.execute(select(Poll.event_id).where(Poll.id == poll_id))).scalar()


async def event_polls(session: AsyncSession, event_id: int) -> list[Poll]:
    """Every poll of the event in a stable order."""
    result = await session.execute(select(Poll).where(Poll.event_id == event_id).order_by(Poll.id))
    return list(result.scalars())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _apply(poll: Poll, action: str) -> None:
    if action == "open":
        poll.state = "open"
        poll.opened_at = _now()
        poll.closed_at = None
    elif action == "close":
        poll.state = "closed"
        poll.closed_at = _now()
    elif action == "reveal":
        poll.revealed = True
    elif action == "hide_results":
        poll.revealed = False


async def answerers(session: AsyncSession, poll_id: int) -> list[int]:
    """Who has answered the poll (attendee ids)."""
    return list((await session.execute(
        select(PollResponse.attendee_id).where(PollResponse.poll_id == poll_id))).scalars())


async def _record(session: AsyncSession, poll: Poll, action: str, *, was_open: bool) -> None:
    """Record what ``action`` changed: the poll; the personal state of those who answered it, when it
    (re)opens (their own answer is back in its form); the presenter screen, when the poll is or was on it."""
    personal = await answerers(session, poll.id) if action == "open" else []
    changed(session, Topic.POLL, poll.event_id, poll.id, attendees=personal)
    if action in ("open", "close", "reset") or was_open:
        changed(session, Topic.STAGE, poll.event_id, poll.stage_id)


async def change(session: AsyncSession, poll: Poll, action: str, actor: str) -> Poll:
    """open, close, reveal, hide_results or reset (erases every answer, back to draft)."""
    if action not in POLL_ACTIONS:
        raise PollError(_("Unknown action. Use one of: %(actions)s.", actions=", ".join(POLL_ACTIONS)))
    was_open = poll.state == "open"
    if action == "reset":
        await session.execute(delete(PollResponse).where(PollResponse.poll_id == poll.id))
        await tally.forget(session, [poll.id])
        poll.state, poll.revealed, poll.opened_at, poll.closed_at = "draft", False, None, None
    else:
        _apply(poll, action)
    audit.record(session, actor=actor, action=f"poll.{action}", event_id=poll.event_id, poll=poll.id)
    await session.flush()
    await _record(session, poll, action, was_open=was_open)
    return poll


async def follow_block(session: AsyncSession, event: Event, live_block_id: int, previous_block_id: int | None,
                       actor: str) -> list[Poll]:
    """Auto-open the new live block's polls and auto-close the previous block's; record the changes like
    :func:`change` does."""
    moved = []
    for poll in await event_polls(session, event.id):
        if poll.auto_open and poll.block_id == live_block_id and poll.state == "draft":
            _apply(poll, "open")
            moved.append(poll)
        elif (poll.auto_close and poll.block_id == previous_block_id and poll.block_id != live_block_id
              and poll.state == "open"):
            _apply(poll, "close")
            moved.append(poll)
    for poll in moved:
        audit.record(session, actor=actor, action=f"poll.auto_{'open' if poll.state == 'open' else 'close'}",
                     event_id=event.id, poll=poll.id)
    if moved:
        await session.flush()
    for poll in moved:
        await _record(session, poll, "open" if poll.state == "open" else "close", was_open=poll.state != "open")
    return moved


def driven_by_hand(event: Event, block_id: int) -> bool:
    """Whether a moderator drives the stage of ``block_id``: they took a block live there. Until then, the clock
    drives it: its blocks' polls open and close with the block's time (see :func:`follow_clock`)."""
    block = next((b for b in event.active_blocks() if b.id == block_id), None)
    if block is None:
        return True
    main = tracks.main_stage(event)
    stage = next((s for s in event.stages if s.id == block.stage_id), None) or main
    live = event.live_block_id if stage is None or stage is main else stage.live_block_id
    return live is not None


async def follow_clock(session: AsyncSession, event: Event,
                       moves: Iterable[tuple[int | None, int | None]]) -> list[Poll]:
    """The clock moved blocks on air, ``(previous, now)`` per stage: on stages nobody drives by hand, auto-open
    the polls of the block now on and auto-close those of the block that went off, as a moderator's go-live does
    (:func:`follow_block`). Several workers may see the same move: the polls are locked and only a draft opens or
    an open poll closes, so it happens once."""
    moves = [(previous, now) for previous, now in moves]
    opening = {now for _p, now in moves if now is not None and not driven_by_hand(event, now)}
    closing = {prev for prev, _n in moves if prev is not None and not driven_by_hand(event, prev)} - opening
    if not opening and not closing:
        return []
    polls = (await session.execute(
        select(Poll).where(Poll.event_id == event.id, Poll.block_id.in_(opening | closing))
        .order_by(Poll.id).with_for_update().execution_options(populate_existing=True))).scalars()
    moved = []
    for poll in polls:
        if poll.auto_open and poll.block_id in opening and poll.state == "draft":
            _apply(poll, "open")
            moved.append(poll)
        elif poll.auto_close and poll.block_id in closing and poll.state == "open":
            _apply(poll, "close")
            moved.append(poll)
    for poll in moved:
        audit.record(session, actor="clock", action=f"poll.auto_{'open' if poll.state == 'open' else 'close'}",
                     event_id=event.id, poll=poll.id)
    if moved:
        await session.flush()
    for poll in moved:
        await _record(session, poll, "open" if poll.state == "open" else "close", was_open=poll.state != "open")
    return moved


def shape(poll: Poll) -> logic.PollShape:
    """What answer validation needs of the poll."""
    return logic.PollShape(
        kind=poll.kind, option_ids=tuple(o.id for o in poll.options), max_picks=poll.max_picks,
        scale_min=poll.scale_min, scale_max=poll.scale_max,
    )


async def results(session: AsyncSession, poll: Poll) -> logic.PollResult:
    """The poll's results from its kept tally (:mod:`ehalsodag.polls.tally`), with the approved open-text wall."""
    wall: list[str] = []
    if poll.kind == "open_text":
        wall = [text for text in (await session.execute(
            select(PollResponse.wall_text)
            .where(PollResponse.poll_id == poll.id, PollResponse.wall_status == "approved")
            .order_by(PollResponse.id))).scalars() if text]
    return await tally.results_of(session, poll, wall)


async def recounted_results(session: AsyncSession, poll: Poll) -> logic.PollResult:
    """The poll's results aggregated from every answer (what the kept tally must always equal)."""
    rows = (
        await session.execute(
            select(PollResponse.answer, PollResponse.wall_status, PollResponse.wall_text)
            .where(PollResponse.poll_id == poll.id).order_by(PollResponse.id)
        )
    ).all()
    scale = (poll.scale_min or 1, poll.scale_max or 5) if poll.kind == "scale" else None
    return logic.aggregate(
        poll.kind, [(o.id, o.label) for o in poll.options], (r[0] for r in rows), scale=scale,
        wall=[r[2] for r in rows if r[1] == "approved" and r[2]],
    )


async def results_by_stage(session: AsyncSession, poll: Poll, event: Event) -> list[tuple[Any, logic.PollResult]]:
    """A national poll's results in each region (by the voter's home stage; none chosen: the main stage)."""
    rows = (await session.execute(
        select(PollResponse.answer, Attendee.stage_id).join(Attendee, Attendee.id == PollResponse.attendee_id)
        .where(PollResponse.poll_id == poll.id).order_by(PollResponse.id))).all()
    main = tracks.main_stage_id(event)
    scale = (poll.scale_min or 1, poll.scale_max or 5) if poll.kind == "scale" else None
    options = [(o.id, o.label) for o in poll.options]
    return [(stage, logic.aggregate(poll.kind, options, (answer for answer, home in rows
                                                         if (home or main) == stage.id), scale=scale, wall=[]))
            for stage in event.stages]


async def wall_queue(session: AsyncSession, poll: Poll, limit: int | None = None) -> list[PollResponse]:
    """Open-text answers waiting for a moderator, oldest first (the first ``limit`` of them)."""
    result = await session.execute(
        select(PollResponse).where(PollResponse.poll_id == poll.id, PollResponse.wall_status == "pending")
        .order_by(PollResponse.id).limit(limit)
    )
    return list(result.scalars())


async def wall_waiting(session: AsyncSession, poll_id: int) -> int:
    """How many open-text answers wait for a moderator."""
    return (await session.execute(select(func.count()).where(
        PollResponse.poll_id == poll_id, PollResponse.wall_status == "pending"))).scalar_one()


async def moderate_wall(session: AsyncSession, poll: Poll, response_id: int, approve: bool, actor: str) -> None:
    """Put an open-text answer on the wall, or keep it off."""
    response = await session.get(PollResponse, response_id)
    if response is None or response.poll_id != poll.id or poll.kind != "open_text":
        raise PollError(_("No such answer."), 404)
    response.wall_status = "approved" if approve else "hidden"
    audit.record(session, actor=actor, action="poll.wall_approve" if approve else "poll.wall_hide",
                 event_id=poll.event_id, poll=poll.id, response=response.id)
    changed(session, Topic.POLL_RESULTS, poll.event_id, poll.id)


async def polls_by_id(session: AsyncSession, poll_ids: Iterable[int]) -> list[Poll]:
    """The polls with these ids (their options loaded), in id order."""
    return list((await session.execute(
        select(Poll).where(Poll.id.in_(list(poll_ids))).order_by(Poll.id))).scalars())


async def answers_of(session: AsyncSession, poll_ids: Iterable[int],
                     attendee_ids: Iterable[int] | None = None) -> dict[tuple[int, int], dict[str, Any]]:
    """The stored answers to these polls, by (poll id, attendee id); only those of ``attendee_ids`` if given."""
    polls = list(poll_ids)
    if not polls:
        return {}
    statement = select(PollResponse.poll_id, PollResponse.attendee_id, PollResponse.answer).where(
        PollResponse.poll_id.in_(polls))
    if attendee_ids is None:
        rows = (await session.execute(statement)).tuples()
        return {(poll_id, attendee_id): answer for poll_id, attendee_id, answer in rows}
    wanted = sorted(set(attendee_ids))
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for start in range(0, len(wanted), 500):  # a batch of voters can be thousands: bounded IN lists
        rows = (await session.execute(
            statement.where(PollResponse.attendee_id.in_(wanted[start:start + 500])))).tuples()
        found.update({(poll_id, attendee_id): answer for poll_id, attendee_id, answer in rows})
    return found


def shown_to_attendees(polls: Sequence[Poll]) -> list[Poll]:
    """What attendees see: the open polls, then the most recently closed poll whose results are visible."""
    shown = [p for p in polls if p.state == "open"]
    latest = latest_closed(polls)
    return [*shown, latest] if latest is not None else shown


def latest_closed(polls: Iterable[Poll]) -> Poll | None:
    """The most recently closed poll whose results attendees may see (ties: the later poll)."""
    closed = [p for p in polls if p.state == "closed" and p.results_visible and p.closed_at is not None]
    return max(closed, key=lambda p: (p.closed_at, p.id)) if closed else None


def on_screen(polls: Iterable[Poll]) -> Poll | None:
    """The poll the presenter screen shows: the most recently opened open poll."""
    open_polls = [p for p in polls if p.state == "open" and p.opened_at is not None]
    return max(open_polls, key=lambda p: (p.opened_at, p.id)) if open_polls else None


def attendee_sort_key(poll: Poll) -> str:
    """Where a poll stands on the attendee page, as a string that sorts ascending: open polls in the order
    they were made, then the closed one (the order of :func:`shown_to_attendees`)."""
    return f"{int(poll.state != 'open')}{poll.id:019d}"


def staff_sort_key(poll: Poll) -> str:
    """Where a poll stands on the control panel: in the order the polls were made."""
    return f"{poll.id:019d}"


#: How far back an action counts as "just now" for :func:`just_done` (pushes follow their commit at once).
RECENT_SECONDS = 30


async def just_done(session: AsyncSession, event_id: int, poll_ids: Iterable[int]) -> dict[int, str]:
    """The last action (``open``, ``auto_open``, ``reveal``...) each of these polls had in the last moments,
    from the audit log that the action wrote in its own transaction: what a push may announce."""
    wanted = set(poll_ids)
    since = _now() - dt.timedelta(seconds=RECENT_SECONDS)
    rows = await session.execute(
        select(AuditEntry.action, AuditEntry.detail)
        .where(AuditEntry.event_id == event_id, AuditEntry.action.like("poll.%"), AuditEntry.created_at >= since)
        .order_by(AuditEntry.id.desc()).limit(200))
    last: dict[int, str] = {}
    for action, detail in rows.tuples():
        poll_id = detail.get("poll") if isinstance(detail, dict) else None
        if poll_id in wanted and poll_id not in last and not action.startswith("poll.wall_"):
            last[poll_id] = action.removeprefix("poll.")
    return last
