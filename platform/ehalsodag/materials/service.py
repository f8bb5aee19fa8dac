"""The framework's landing place: which framework a day extends, its materials, and what is new to whom.

A framework is a template programme (``template = true``, e.g. ``ramprogram-2021.toml``) loaded as an event;
a regional day extends it (``extends = "ramprogram-2021.toml"``). Both are read from the programme file the
event was loaded from; a rehearsal copy has its original's framework.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ehalsodag.agenda.models import Event
from ehalsodag.agenda.service import event_by_slug, utcnow
from ehalsodag.agenda.streams import StreamError, check_link
from ehalsodag.i18n import _
from ehalsodag.materials.models import Material, MaterialVisit
from ehalsodag.staff import audit
from ehalsodag.staff.models import StaffUser

_tables: dict[str, tuple[float, dict[str, Any]]] = {}


def _text_table(text: str) -> dict[str, Any]:
    """The ``[event]`` table of a day made or edited in the studio (its file text is kept on the event)."""
    try:
        table = tomllib.loads(text).get("event", {})
    except tomllib.TOMLDecodeError:
        return {}
    return table if isinstance(table, dict) else {}


def _event_table(source_file: str) -> dict[str, Any]:
    """The ``[event]`` table of a programme file ({} when it cannot be read), remembered until the file changes."""
    if not source_file:
        return {}
    path = Path(source_file)
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return {}
    cached = _tables.get(source_file)
    if cached and cached[0] == mtime:
        return cached[1]
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("event", {})
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        table = {}
    table = table if isinstance(table, dict) else {}
    _tables[source_file] = (mtime, table)
    return table


def is_framework(event: Event) -> bool:
    """Whether the event is a framework programme (a template), not a rehearsal copy of one."""
    return event.rehearsal_of_id is None and bool(_event_table(event.source_file).get("template"))


async def framework_of(session: AsyncSession, event: Event) -> Event | None:
    """The framework event ``event`` extends (itself when it is one); None when it extends none."""
    if event.rehearsal_of_id is not None:
        original = await session.get(Event, event.rehearsal_of_id)
        return await framework_of(session, original) if original is not None else None
    table = _text_table(event.programme_text) if event.programme_text else _event_table(event.source_file)
    if table.get("template"):
        return event
    extends = table.get("extends")
    if not isinstance(extends, str) or not extends:
        return None
    parent = Path(event.source_file).parent / extends
    slug = _event_table(str(parent)).get("slug") or parent.stem
    framework = await event_by_slug(session, str(slug))
    return framework if framework is not None and is_framework(framework) else None


async def materials(session: AsyncSession, framework: Event) -> list[Material]:
    """The framework's materials, newest first."""
    rows = await session.execute(
        select(Material).where(Material.event_id == framework.id).order_by(Material.created_at.desc(),
                                                                             Material.id.desc()))
    return list(rows.scalars())


async def material_of(session: AsyncSession, framework: Event, material_id: int) -> Material | None:
    """One material of this framework (None when it belongs to another or does not exist)."""
    material = await session.get(Material, material_id)
    return material if material is not None and material.event_id == framework.id else None


@dataclass(frozen=True)
class Shown:
    """A material as one staff user sees it."""

    material: Material
    new: bool

    @property
    def megabytes(self) -> float | None:
        """The file's size in MB from 0.1 MB on (None below: see :attr:`kilobytes`)."""
        size = self.material.size_bytes or 0
        return size / 1024 / 1024 if size >= 100 * 1024 else None

    @property
    def kilobytes(self) -> int:
        """The file's size in kB, rounded up."""
        return max(1, -(-(self.material.size_bytes or 0) // 1024))


async def visit(session: AsyncSession, user: StaffUser, framework: Event) -> list[Shown]:
    """The materials marked new since this user's last visit, and remember this visit."""
    found = await materials(session, framework)
    row = (await session.execute(select(MaterialVisit).where(
        MaterialVisit.user_id == user.id, MaterialVisit.event_id == framework.id))).scalar_one_or_none()
    last = row.seen_at if row is not None else None
    now = utcnow()
    if row is None:
        session.add(MaterialVisit(user_id=user.id, event_id=framework.id, seen_at=now))
    else:
        row.seen_at = now
    return [Shown(m, last is None or _aware(m.created_at) > _aware(last)) for m in found]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def add_file(session: AsyncSession, framework: Event, user: StaffUser, *, title: str, filename: str,
             stored_name: str, content_type: str, size: int) -> Material:
    """Record an uploaded file (already stored on disk under ``stored_name``)."""
    material = Material(event_id=framework.id, kind="file", title=title or filename, filename=filename,
                        stored_name=stored_name, content_type=content_type, size_bytes=size, uploaded_by=user.email)
    session.add(material)
    audit.record(session, actor=user.email, action="material.upload", event_id=framework.id, name=filename,
                 size=size)
    return material


class LinkError(ValueError):
    """A video link that cannot be kept (message shown beside the field)."""


def add_link(session: AsyncSession, framework: Event, user: StaffUser, *, title: str, url: str) -> Material:
    """Record a video link (https only, like the programme's film links)."""
    title, url = title.strip(), url.strip()
    if not title or len(title) > 200:
        raise LinkError(_("Give the link a title (at most 200 characters)."))
    try:
        check_link(url)
    except StreamError:
        raise LinkError(_("The link must be an https:// address.")) from None
    if len(url) > 500:
        raise LinkError(_("The link is too long."))
    material = Material(event_id=framework.id, kind="link", title=title, url=url, size_bytes=0,
                        uploaded_by=user.email)
    session.add(material)
    audit.record(session, actor=user.email, action="material.link", event_id=framework.id, url=url)
    return material


async def remove(session: AsyncSession, material: Material, user: StaffUser, upload_dir: Path) -> None:
    """Delete a material and its file."""
    audit.record(session, actor=user.email, action="material.delete", event_id=material.event_id,
                 title=material.title)
    if material.stored_name:
        (upload_dir / material.stored_name).unlink(missing_ok=True)
    await session.delete(material)
