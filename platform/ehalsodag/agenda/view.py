"""What the pages and fragments show of an event at a given moment (no HTTP, no rendering)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from ehalsodag.agenda import runofshow, tracks
from ehalsodag.agenda.models import Block, Event, Stage
from ehalsodag.agenda.streams import Embed, StreamError, embed_for

_REHEARSAL_MINUTES = 12 * 60


@dataclass(frozen=True)
class BlockRow:
    """One line of the programme or the run-of-show."""

    block: Block
    state: str  # "done", "live" or "upcoming"
    #: Minutes after its planned start the block went live; None when it did not, or did so on another day.
    late_minutes: int | None
    #: The day it went live when that is not its planned day (a rehearsal of a past day): shown as a date.
    went_live_on: dt.date | None = None

    @property
    def shifted(self) -> bool:
        """Whether the block has been moved from its planned time."""
        return self.block.shift_minutes != 0


@dataclass(frozen=True)
class EventView:
    """The state of an event as shown to people at ``at``."""

    event: Event
    at: dt.datetime
    rows: list[BlockRow]
    now: Block | None
    next: Block | None
    minutes_left: int | None
    day_over: bool
    day_not_started: bool
    player: Embed | None
    film: Embed | None
    running_late: int
    #: On a national day: the attendee's home stage, the stage they follow now, other regions' blocks (folded
    #: away on the programme) and, while their own block runs past the national programme's restart, a notice.
    home: Stage | None = None
    track: Stage | None = None
    other_regions: tuple[tuple[Stage, tuple[BlockRow, ...]], ...] = ()
    resume: tracks.ResumeNotice | None = None

    @property
    def other_regions_id(self) -> str:
        """The folded list's element id: the same while its content is (so the page keeps it open or closed as
        the person left it), a new one when the programme changed it."""
        content = repr([(stage.key, stage.name, [(r.block.key, r.block.title, r.block.planned_start.isoformat(),
                                                  r.block.planned_end.isoformat()) for r in rows])
                        for stage, rows in self.other_regions])
        digest = hashlib.blake2s(content.encode(), digest_size=4).hexdigest()
        return f"other-regions-{self.home.key if self.home else 'main'}-{digest}"

    @property
    def regional(self) -> bool:
        """Whether the attendee follows their region's own stage now."""
        return self.track is not None and self.home is self.track and not self.track.is_national \
            and tracks.is_national_day(self.event)

    @property
    def recording_url(self) -> str | None:
        """Where to watch afterwards (the event's recording), once the day is over."""
        return self.event.recording_url if self.day_over else None


def stream_for(event: Event, block: Block | None, stage: Stage | None = None) -> Embed | None:
    """The embed to show for ``block``: its own stream, else its stage's; between blocks, ``stage``'s (the
    main stage's by default). None if nothing fits."""
    if block is None:
        stage = stage or tracks.main_stage(event)
        url = stage.stream_url if stage else None
    elif block.kind == "film" and block.film_url:
        url = block.film_url
    else:
        url = block.stream_url or block.stage.stream_url
    if not url:
        return None
    try:
        return embed_for(url, event.allowed_stream_hosts)
    except StreamError:  # validated at load time; an allow-list edited since then wins
        return None


def _running_late(now: Block | None, upcoming: Block | None) -> int:
    """Minutes the day runs behind: what the next block was moved by, else how late the current one began."""
    if upcoming is not None and upcoming.shift_minutes:
        return upcoming.shift_minutes
    if now is not None:
        late = runofshow.lateness_minutes(now) or 0
        if abs(late) <= _REHEARSAL_MINUTES:  # taken live on another day is a rehearsal, not a late start
            return late
    return 0


def _row(block: Block, status: str, timezone: str) -> BlockRow:
    """A block's row: how late it went live in minutes on its own day, else the date it went live (a figure of
    millions of minutes for a past day taken live today says nothing)."""
    late = runofshow.lateness_minutes(block)
    if late is None or abs(late) <= _REHEARSAL_MINUTES:
        return BlockRow(block, status, late)
    went = block.went_live_at.astimezone(ZoneInfo(timezone)).date() if block.went_live_at else None
    return BlockRow(block, status, None, went)


def _rows(ordered: list[Block], now: Block | None, at: dt.datetime,
          timezone: str = "Europe/Stockholm") -> list[BlockRow]:
    now_index = ordered.index(now) if now is not None and now in ordered else None
    rows = []
    for index, block in enumerate(ordered):
        if now_index is not None:
            status = "done" if index < now_index else "live" if index == now_index else "upcoming"
        else:
            status = "done" if block.ended_at is not None or block.ends_at <= at else "upcoming"
        rows.append(_row(block, status, timezone))
    return rows


def event_view(event: Event, at: dt.datetime | None = None, home: int | None = None) -> EventView:
    """Now/next, the programme with states, the player and how late the day runs; on a national day as the
    attendees of the ``home`` stage (id; None: the main stage) see it."""
    at = at or dt.datetime.now(dt.UTC)
    national_day = tracks.is_national_day(event)
    home_stage = tracks.home_of(event, home) if national_day else None
    track = tracks.track_of(event, home_stage, at) if national_day else None
    if national_day and track is not None and track is home_stage and not track.is_national:
        regional = tracks.regional_block_on(event, track, at)
        # national content alongside the regional block (a film for those without a region) is not theirs
        blocks: list[Block] = [b for b in tracks.track_blocks(event, home_stage) if regional is None
                               or b.stage_id == track.id or not regional.starts_at <= b.starts_at < regional.ends_at]
        state = runofshow.now_and_next(blocks, at, regional.id if regional else None)
    elif national_day:
        # a regional block its moderator ended early is over, whatever the clock says
        blocks = [b for b in tracks.track_blocks(event, home_stage) if b.stage_id == track.id or b.ended_at is None]
        state = runofshow.now_and_next(blocks, at, event.live_block_id)
    else:
        blocks = event.active_blocks()
        state = runofshow.now_and_next(blocks, at, event.live_block_id)
    if event.broadcast_ended_at is not None and (track is None or track is tracks.main_stage(event)):
        # a moderator ended the broadcast: nothing is on and nothing follows until a block is taken live again
        state = runofshow.NowNext(None, None, None, day_over=True, day_not_started=False)
    now = state.now if isinstance(state.now, Block) else None
    ordered = [b for b in runofshow.ordered(tracks.track_blocks(event, home_stage) if national_day else blocks)
               if isinstance(b, Block)]
    rows = _rows(ordered, now, at, event.timezone)
    other_regions: list[tuple[Stage, tuple[BlockRow, ...]]] = []
    if national_day:
        for stage in tracks.regional_stages(event):
            if stage is home_stage:
                continue
            theirs = tracks.stage_blocks(event, stage)
            if theirs:
                other_regions.append((stage, tuple(_rows(theirs, tracks.regional_block_on(event, stage, at), at,
                                                                  event.timezone))))
    film = None
    if now is not None and now.kind != "film" and now.film_url:
        try:
            film = embed_for(now.film_url, event.allowed_stream_hosts)
        except StreamError:
            film = None
    running_late = _running_late(now, state.next if isinstance(state.next, Block) else None)
    return EventView(
        event=event,
        at=at,
        rows=rows,
        now=now,
        next=state.next if isinstance(state.next, Block) else None,
        minutes_left=state.minutes_left,
        day_over=state.day_over,
        day_not_started=state.day_not_started,
        player=stream_for(event, now, track) if not state.day_over else None,
        film=film,
        running_late=running_late,
        home=home_stage,
        track=track,
        other_regions=tuple(other_regions),
        resume=tracks.resume_notice(event, home_stage, at) if national_day else None,
    )
