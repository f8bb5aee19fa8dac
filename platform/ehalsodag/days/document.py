"""A day's programme file as a document the studio edits: written as TOML, changed block by block, and the
line of the file each problem of ``agenda check`` points at.

A day made from the framework is a regional file exactly like ``agenda/ostergotland-2021-03-23.toml``: it
extends the framework programme, fills its placeholders, removes blocks with ``remove_blocks`` and replaces or
adds blocks with ``[[blocks]]``. A block the editor changes is written out whole (with its extra speakers) in the
day's file; the framework stays untouched.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

#: The order of a programme file's tables and of a block's keys, as the shipped files write them.
_TOP_ORDER = ("remove_blocks", "event", "placeholders", "evaluation", "stages", "blocks", "extra_speakers")
_KEY_ORDER = ("id", "key", "extends", "slug", "region", "stage", "kind", "start", "end", "title", "date")
_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$")
_KEY_LINE = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")
_TOML_LINE = re.compile(r"at line (\d+)")


# --- writing TOML ---------------------------------------------------------------------------------------------


def _string(value: str) -> str:
    out = []
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M") if not value.second else value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _key(key: str) -> str:
    return key if _BARE.match(key) else _string(key)


def _ordered(table: dict[str, Any], order: tuple[str, ...]) -> list[str]:
    known = [k for k in order if k in table]
    return known + [k for k in table if k not in known]


def _is_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _table(lines: list[str], name: str, table: dict[str, Any], header: str | None) -> None:
    if header is not None:
        lines.append(header)
    keys = _ordered(table, _KEY_ORDER)
    for key in keys:  # plain values first: a table's keys end at the next header
        value = table[key]
        if not isinstance(value, dict) and not _is_tables(value):
            lines.append(f"{_key(key)} = {_value(value)}")
    for key in keys:
        value = table[key]
        if isinstance(value, dict):
            lines.append("")
            _table(lines, f"{name}.{_key(key)}", value, f"[{name}.{_key(key)}]")
        elif _is_tables(value):
            for item in value:
                _table(lines, f"{name}.{_key(key)}", item, f"[[{name}.{_key(key)}]]")


def dumps(doc: dict[str, Any], comment: str = "") -> str:
    """``doc`` as a programme file: top-level keys, ``[event]``, placeholders, evaluation, stages, blocks."""
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    keys = _ordered(doc, _TOP_ORDER)
    for key in keys:
        value = doc[key]
        if not isinstance(value, dict) and not _is_tables(value):
            if isinstance(value, list) and not value:
                continue  # an empty remove_blocks says nothing
            lines.append(f"{_key(key)} = {_value(value)}")
    for key in keys:
        value = doc[key]
        if isinstance(value, dict):
            lines.append("")
            _table(lines, _key(key), value, f"[{_key(key)}]")
        elif _is_tables(value):
            for item in value:
                lines.append("")
                _table(lines, _key(key), item, f"[[{_key(key)}]]")
    return "\n".join(lines).lstrip("\n") + "\n"


# --- where a problem is in the file ----------------------------------------------------------------------------


def line_index(text: str) -> dict[str, int]:
    """Each table and key of ``text`` by its path as ``agenda check`` writes it (``blocks[2].title``,
    ``event.date``, and by id too: ``blocks[block-1].title``) → its 1-based line."""
    found: dict[str, int] = {}
    counts: dict[str, int] = {}
    ids: dict[str, str] = {}
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _HEADER.match(line)
        if header:
            parts = header.group(2).split(".")
            parent = ""
            for part in parts[:-1]:  # [[blocks.speakers]] belongs to the last [[blocks]]
                index = counts.get(f"{parent}{part}")
                parent = f"{parent}{part}[{index}]." if index is not None else f"{parent}{part}."
            name = f"{parent}{parts[-1]}"
            if header.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                for child in [k for k in counts if k.startswith(f"{name}[")]:  # a new entry restarts its children
                    del counts[child]
                current = f"{name}[{counts[name]}]"
            else:
                current = name
            found.setdefault(current, number)
            continue
        key = _KEY_LINE.match(line)
        if key:
            name = key.group(1).strip('"')
            found.setdefault(f"{current}.{name}" if current else name, number)
            value = re.search(r'=\s*"([^"]*)"', line)
            if name == "id" and current.endswith("]") and value:
                ids[current] = re.sub(r"\[\d+\]$", f"[{value.group(1)}]", current)
    for table, alias in ids.items():  # problems name stages and blocks by id too: stages[main].stream_url
        for path, number in list(found.items()):
            if path == table or path.startswith(table + "."):
                found.setdefault(alias + path[len(table):], number)
    return found


def line_of(text: str, path: str, message: str = "", index: dict[str, int] | None = None) -> int | None:
    """The line of ``text`` a problem at ``path`` is about (its key, else the nearest table), or None."""
    if path == "file":
        match = _TOML_LINE.search(message)
        return int(match.group(1)) if match else None
    lines = line_index(text) if index is None else index
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


# --- editing a day's document -------------------------------------------------------------------------------------


def slugify(text: str) -> str:
    """A lower-case id of letters, digits and hyphens (å, ä, ö → a, a, o)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", plain)).strip("-")[:80] or "block"


def minutes(value: Any) -> int | None:
    """A block time (``"09:05"``, a time, a date-time) as minutes after midnight; None if unreadable."""
    if isinstance(value, str):
        match = re.match(r"^\s*(\d{1,2}):(\d{2})\s*$", value)
        return int(match.group(1)) * 60 + int(match.group(2)) if match else None
    if isinstance(value, dt.datetime | dt.time):
        return value.hour * 60 + value.minute
    return None


def hhmm(total: int) -> str:
    """Minutes after midnight as ``HH:MM``."""
    return f"{total // 60:02d}:{total % 60:02d}"


def own_blocks(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The day's own ``[[blocks]]`` (a list in ``doc``, created if missing)."""
    blocks = doc.get("blocks")
    if not isinstance(blocks, list):
        blocks = doc["blocks"] = []
    return blocks


def write_block(doc: dict[str, Any], key: str, block: dict[str, Any]) -> int:
    """Put ``block`` whole into the day's file under ``key`` (replacing an own block of that id, and its extra
    speakers, which the block now carries); return its index in ``[[blocks]]``."""
    blocks = own_blocks(doc)
    doc["extra_speakers"] = [s for s in doc.get("extra_speakers", []) if s.get("block") != key]
    if not doc["extra_speakers"]:
        del doc["extra_speakers"]
    for index, existing in enumerate(blocks):
        if existing.get("id") == key:
            blocks[index] = block
            return index
    blocks.append(block)
    return len(blocks) - 1


def remove_block(doc: dict[str, Any], key: str, inherited: set[str]) -> None:
    """Take block ``key`` out of the day: drop it from the file, and from the framework's blocks with
    ``remove_blocks`` when it comes from there."""
    doc["blocks"] = [b for b in own_blocks(doc) if b.get("id") != key]
    if not doc["blocks"]:
        del doc["blocks"]
    extras = [s for s in doc.get("extra_speakers", []) if s.get("block") != key]
    if extras:
        doc["extra_speakers"] = extras
    else:
        doc.pop("extra_speakers", None)
    if key in inherited:
        removals = list(doc.get("remove_blocks", []))
        if key not in removals:
            removals.append(key)
        doc["remove_blocks"] = removals


def new_block_id(title: str, taken: set[str]) -> str:
    """An id for a new block, from its title, that no block of the day or its framework has."""
    base = slugify(title)
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def swapped_times(first: dict[str, Any], second: dict[str, Any]) -> tuple[tuple[str, str], tuple[str, str]] | None:
    """New (start, end) of two neighbouring blocks that change places: the later one takes the earlier start,
    the earlier one ends where the later ended; each keeps its length and the gap between them stays."""
    a_start, a_end = minutes(first.get("start")), minutes(first.get("end"))
    b_start, b_end = minutes(second.get("start")), minutes(second.get("end"))
    if None in (a_start, a_end, b_start, b_end):
        return None
    assert a_start is not None and a_end is not None and b_start is not None and b_end is not None
    gap = max(0, b_start - a_end)
    new_b = (a_start, a_start + (b_end - b_start))
    new_a = (new_b[1] + gap, new_b[1] + gap + (a_end - a_start))
    return (hhmm(new_b[0]), hhmm(new_b[1])), (hhmm(new_a[0]), hhmm(new_a[1]))
