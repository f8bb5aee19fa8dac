"""Attendee services: joining an event and finding an attendee by token."""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from dataclasses import dataclass

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag import metrics
from ehalsodag.attendees.models import Attendee
from ehalsodag.changes import Topic, changed
from ehalsodag.db.engine import Database
from ehalsodag.i18n import _
from ehalsodag.text import TextError, clean_optional
from ehalsodag.tokens import token_hash
from ehalsodag.web.bounds import Key, ShortText, SmallInt

MAX_NAME = 80
MAX_ORGANISATION = 120
#: The ceiling of a declared group size when none is configured (``Settings.max_group_size``).
MAX_GROUP_SIZE = 50


class JoinError(TextError):
    """Bad join input; the message is shown to the attendee."""


class JoinRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """What an attendee may tell us when joining (POST /api/v1/events/{slug}/join and the join form).
    Everything is optional."""

    display_name: ShortText | None = None
    organisation: ShortText | None = None
    group_size: SmallInt | None = None
    #: On a national day: the attendee's region (a stage's id in the programme file, or its number).
    stage: Key | SmallInt | None = None


class HomeRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """PATCH /api/v1/events/{slug}/me and the region picker on the attendee page: the attendee's region."""

    stage: Key | SmallInt


def _checked(request: JoinRequest, max_group_size: int) -> tuple[str | None, str | None, int]:
    """The join input's name, organisation and group size, checked (``JoinError`` saying what is wrong)."""
    try:
        name = clean_optional(request.display_name, MAX_NAME, what=_("Name"))
        organisation = clean_optional(request.organisation, MAX_ORGANISATION, what=_("Organisation"))
    except TextError as exc:
        raise JoinError(str(exc)) from exc
    group_size = 1 if request.group_size is None else request.group_size
    if not isinstance(group_size, int) or isinstance(group_size, bool) or not 1 <= group_size <= max_group_size:
        raise JoinError(_("The number watching must be a whole number from 1 to %(max)d.", max=max_group_size))
    return name, organisation, group_size


def new_attendee(event_id: int, request: JoinRequest, stage_id: int | None = None,
                 max_group_size: int = MAX_GROUP_SIZE) -> tuple[Attendee, str]:
    """A checked, not yet stored attendee (or a room of them, of the stage ``stage_id``) and its secret token."""
    name, organisation, group_size = _checked(request, max_group_size)
    token = "eha_" + secrets.token_urlsafe(24)
    attendee = Attendee(
        event_id=event_id, token_hash=token_hash(token), display_name=name,
        organisation=organisation, group_size=group_size, stage_id=stage_id,
    )
    return attendee, token


def rejoin(session: AsyncSession, attendee: Attendee, request: JoinRequest, stage_id: int | None = None,
           max_group_size: int = MAX_GROUP_SIZE) -> Attendee:
    """A browser that joins again is the same attendee (its answers, upvotes and a moderator's mute stay with it):
    what the join form says now replaces what it said before."""
    attendee.display_name, attendee.organisation, attendee.group_size = _checked(request, max_group_size)
    if stage_id is not None:
        move_home(session, attendee, stage_id)
    return attendee


async def join(session: AsyncSession, event_id: int, request: JoinRequest,
               stage_id: int | None = None, max_group_size: int = MAX_GROUP_SIZE) -> tuple[Attendee, str]:
    """Register an attendee in the request's unit of work; return it with its secret token."""
    attendee, token = new_attendee(event_id, request, stage_id, max_group_size)
    session.add(attendee)
    await session.flush()
    metrics.count_join()
    return attendee, token


def move_home(session: AsyncSession, attendee: Attendee, stage_id: int) -> None:
    """Put the attendee on another stage (their region); their open pages follow it."""
    if attendee.stage_id != stage_id:
        attendee.stage_id = stage_id
        changed(session, Topic.HOME, attendee.event_id, attendees=[attendee.id])


async def attendee_by_token(session: AsyncSession, event_id: int, token: str) -> Attendee | None:
    """The attendee of ``event_id`` holding ``token``."""
    result = await session.execute(
        select(Attendee).where(Attendee.token_hash == token_hash(token), Attendee.event_id == event_id)
    )
    return result.scalar_one_or_none()


def pseudonym(event_id: int, attendee_id: int) -> str:
    """A stable code that tells an anonymous attendee apart from the others of the event without naming them
    (``7F3A-91C2``): a keyed permutation of the attendee's number (four Feistel rounds over 32 bits), so two
    attendees of the event never share one, and the same attendee has another code in another event."""
    if not 0 <= attendee_id < 2**32:
        return hashlib.blake2b(f"{event_id}:{attendee_id}".encode(), digest_size=4).hexdigest().upper()
    left, right = attendee_id >> 16, attendee_id & 0xFFFF
    for round_ in range(4):
        mixed = hashlib.blake2b(f"{event_id}:{round_}:{right}".encode(), digest_size=2).digest()
        left, right = right, left ^ int.from_bytes(mixed, "big")
    return f"{left:04X}-{right:04X}"


@dataclass(frozen=True, slots=True)
class AttendeeRef:
    """What the hot paths (votes, websocket connects) need to know about an attendee."""

    id: int
    event_id: int
    group_size: int


class AttendeeTokens:
    """Attendee tokens → who holds them, remembered in memory so that a vote or a websocket connect
    needs no query to know who is asking.

    An entry never goes stale: a token never changes owner, and attendee rows are never deleted
    (deleting one's data erases what the attendee wrote and their name, not the row).
    """

    def __init__(self, db: Database, size: int = 200_000) -> None:
        self.db = db
        self.size = size
        self._by_hash: OrderedDict[str, AttendeeRef] = OrderedDict()

    def remember(self, token: str, attendee: Attendee) -> AttendeeRef:
        """Remember a (just stored) attendee's token."""
        ref = AttendeeRef(attendee.id, attendee.event_id, attendee.group_size)
        self._store(token_hash(token), ref)
        return ref

    async def lookup(self, event_id: int, token: str) -> AttendeeRef | None:
        """The attendee of ``event_id`` holding ``token``, from memory or the database."""
        key = token_hash(token)
        ref = self._by_hash.get(key)
        if ref is None:
            async with self.db.reader() as session:
                attendee = (await session.execute(
                    select(Attendee.id, Attendee.event_id, Attendee.group_size).where(Attendee.token_hash == key)
                )).one_or_none()
            if attendee is None:
                return None  # unknown tokens are not remembered: guessing must not fill the memory
            ref = AttendeeRef(*attendee)
            self._store(key, ref)
        return ref if ref.event_id == event_id else None

    def _store(self, key: str, ref: AttendeeRef) -> None:
        self._by_hash[key] = ref
        if len(self._by_hash) > self.size:
            self._by_hash.popitem(last=False)
