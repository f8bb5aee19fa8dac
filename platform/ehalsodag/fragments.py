"""What a live fragment is: the contract between the domains and the live layer.

Each domain's ``fragments`` module says, for the topics it owns, which fragments show a change to
each audience (:meth:`FragmentSource.for_change`) and which make up a page's whole state
(:meth:`FragmentSource.snapshot`). The live layer renders every :class:`Fragment` once per language
and sends the same bytes to every socket of its audience (or to the attendees it names), so a push
and a snapshot come from the same templates and can never disagree.

How a browser applies a fragment is the frame protocol of ``static/js/live.js`` (``data-swap``:
replace, inner, upsert into a sorted list, append, prepend, remove; ``data-keep`` for what a person
is using). Like :mod:`ehalsodag.changes`, this module sits below every domain.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.changes import Change, Topic


class Audience(enum.StrEnum):
    """Who a socket is: which page it serves (not who is logged in)."""

    #: The attendee page (an attendee, or staff looking at the attendee page).
    ATTENDEE = "attendee"
    #: The moderators' control panel.
    STAFF = "staff"
    #: The presenter screen in the studio or a meeting room.
    SCREEN = "screen"
    #: The stream overlay (a browser source in the streaming software).
    OVERLAY = "overlay"


@dataclass(frozen=True)
class Fragment:
    """One template to render for one audience.

    ``to`` limits it to those attendees (personal state: my upvote, my waiting questions, my
    answer); ``exclude`` keeps it from those (they get a personal version instead). ``slot`` names
    it for the page that places it (``parts.<slot>`` in the page template).

    On an event with several stages, ``stage`` says whose it is: the content of that stage (a
    regional question, a national poll). Attendee pages get it while they follow that stage (the live
    layer works out which homes do); control panels and screens get it when they show that stage.
    ``homes`` instead names the attendees' home stages it is for (their own now/next). Neither: every
    socket of the audience.
    """

    audience: Audience
    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    to: frozenset[int] | None = None
    exclude: frozenset[int] = frozenset()
    slot: str | None = None
    stage: int | None = None
    homes: frozenset[int] | None = None


@dataclass(frozen=True)
class Viewer:
    """Whose snapshot is wanted: the audience and, on the attendee page, the attendee (if any)."""

    audience: Audience
    attendee_id: int | None = None
    #: Staff looking at the attendee page see what attendees see, without anything personal.
    is_staff: bool = False
    #: The attendee page: the home stage (the attendee's region). Control panel and screens: the stage shown.
    #: None: the event's main stage.
    stage: int | None = None


class FragmentSource(Protocol):
    """A domain's live view. ``event`` is the event row with its blocks and stages loaded."""

    #: The topics this source shows.
    topics: frozenset[Topic]

    async def for_change(self, session: AsyncSession, event: Any, change: Change) -> list[Fragment]:
        """The smallest fragments that show ``change`` to each audience (and to the attendees it names)."""
        ...

    async def snapshot(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        """The fragments that make up this domain's part of ``viewer``'s page, personal state included."""
        ...

    async def personal(self, session: AsyncSession, event: Any, viewer: Viewer) -> list[Fragment]:
        """What turns the shared attendee snapshot into this attendee's own (``viewer.attendee_id``, on the page of
        the home stage ``viewer.stage``): fragments applied after it, each replacing an element by id (my upvotes,
        my waiting questions, my answers) on that page. ``snapshot()`` with the attendee and the shared snapshot
        followed by these must give the same page."""
        ...

    def personal_state(self) -> ColumnElement[bool] | None:
        """A SQL condition, with bind parameters ``attendee_id`` and ``event_id``, that is true when the
        attendee has something of their own in this domain (their snapshot cannot be shared); None if never."""
        ...


@dataclass(frozen=True)
class ClockState:
    """What the clock says of an event; any change means a push.

    ``nows``: each home stage's block on now (None as a key: the main stage's sockets); ``other``:
    what else the clock decides (next blocks, the day over, notices); ``stamp``: the programme as
    stored; ``tracks``: which stage each home follows (None as a key again for the main stage).
    """

    nows: Mapping[int | None, int | None]
    other: Hashable
    stamp: Hashable
    tracks: Mapping[int | None, int | None]
    #: Whether the day is over (the evaluation opens by itself when the last block ends).
    day_over: bool = False
    #: Where the evaluation window stands (open, closed, ...): when the clock moves it, the evaluation is pushed.
    evaluation: Hashable = None
