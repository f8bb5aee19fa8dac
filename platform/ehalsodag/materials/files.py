"""Material files: which types are accepted (by their first bytes, not by their name), clean display names,
the ``Content-Disposition`` of a download, and a streaming multipart reader that writes the one file field
straight to disk (never the whole body in memory) and stops as soon as the size limit is passed.

Accepted: PDF, PPTX, DOCX, PNG, JPEG, GIF and WebP. SVG and HTML never (they can carry scripts); a file whose
bytes do not match its name's type (HTML or SVG named ``.pdf``) is refused.
"""

from __future__ import annotations

import hmac
import os
import secrets
import unicodedata
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

#: extension → (content type, label)
TYPES: dict[str, tuple[str, str]] = {
    "pdf": ("application/pdf", "PDF"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "PowerPoint"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word"),
    "png": ("image/png", "PNG"),
    "jpg": ("image/jpeg", "JPEG"),
    "jpeg": ("image/jpeg", "JPEG"),
    "gif": ("image/gif", "GIF"),
    "webp": ("image/webp", "WebP"),
}
#: The part a zip must hold to be that Office document.
_OFFICE_PARTS = {"pptx": "ppt/presentation.xml", "docx": "word/document.xml"}
#: Bytes a form field other than the file may have.
FIELD_LIMIT = 2000
#: Room for the form's other fields and the multipart framing on top of the file's own limit.
FRAMING_BYTES = 16 * 1024


class UploadError(ValueError):
    """A refused upload: ``status`` is the HTTP status, the message is shown beside the field."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def clean_filename(raw: str | None) -> str:
    """The uploader's file name made safe to show and to offer on download: no folders (``../``, ``C:\\``),
    no control or direction-override characters (NUL, U+202E), NFC-normalised, at most 150 characters."""
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in ("C", "Z") or ch == " ")
    name = name.strip().lstrip(".").strip()
    if len(name) > 150:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 150 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:150]
    return name


def extension(name: str) -> str:
    """The lower-case extension of a cleaned file name ('' when none)."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def sniff(path: Path, ext: str) -> bool:
    """Whether the file's bytes are what its extension says."""
    with path.open("rb") as handle:
        head = handle.read(16)
    if ext == "pdf":
        return head.startswith(b"%PDF-")
    if ext == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if ext in ("jpg", "jpeg"):
        return head.startswith(b"\xff\xd8\xff")
    if ext == "gif":
        return head[:6] in (b"GIF87a", b"GIF89a")
    if ext == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if ext in _OFFICE_PARTS:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
        return "[Content_Types].xml" in names and _OFFICE_PARTS[ext] in names
    return False


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 name (RFC 6266)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = "".join(ch if ch.isalnum() or ch in " .-_()" else "_" for ch in ascii_name).strip() or "material"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@dataclass
class Received:
    """What a streamed upload gave: the small fields, and the file (already on disk, not yet checked)."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    temp_path: Path | None = None
    size: int = 0

    def discard(self) -> None:
        """Remove the temporary file."""
        if self.temp_path is not None:
            self.temp_path.unlink(missing_ok=True)
            self.temp_path = None


def csrf_matches(secret: str, form_token: str | None, cookie_token: str | None) -> bool:
    """Litestar's CSRF check (token = random part + its HMAC; form and cookie must carry the same random part)."""
    from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash

    def decoded(token: str | None) -> str | None:
        if not token or len(token) < CSRF_SECRET_LENGTH + 1:
            return None
        part, digest = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        return part if hmac.compare_digest(digest, generate_csrf_hash(token=part, secret=secret)) else None

    mine, theirs = decoded(form_token), decoded(cookie_token)
    return mine is not None and theirs is not None and hmac.compare_digest(mine, theirs)


async def receive(
    stream: AsyncIterator[bytes], content_type: str, content_length: int | None, *, upload_dir: Path,
    max_bytes: int, csrf_ok: object,
) -> Received:
    """Read a ``multipart/form-data`` body chunk by chunk: small fields into memory (bounded), the ``file``
    field straight into a temporary file in ``upload_dir``. ``csrf_ok(fields)`` is asked before the first
    byte of the file is written (the form sends its CSRF token first); False refuses the upload (403).

    Raises :class:`UploadError` (413 as soon as the limit is passed, before the rest is read)."""
    kind, options = parse_options_header(content_type or "")
    if kind != "multipart/form-data" or not options.get("boundary"):
        raise UploadError(415, "Send the file as multipart/form-data (the upload form does).")
    if content_length is not None and content_length > max_bytes + FRAMING_BYTES:
        raise UploadError(413, "too large")
    upload_dir.mkdir(parents=True, exist_ok=True)
    received = Received()
    handle = None
    current: MultipartSegment | None = None
    buffer = bytearray()
    try:
        parser = PushMultipartParser(options["boundary"], max_segment_count=10, strict=True)
        async for chunk in stream:
            if not chunk:
                continue
            for item in parser.parse(chunk):
                if isinstance(item, MultipartSegment):
                    current = item
                    buffer.clear()
                    if item.name == "file" and item.filename is not None:
                        if received.temp_path is not None:
                            raise UploadError(422, "one file at a time")
                        if not csrf_ok(received.fields):  # type: ignore[operator]
                            raise UploadError(403, "csrf")
                        received.filename = item.filename
                        received.temp_path = upload_dir / f".upload-{secrets.token_hex(12)}"
                        handle = received.temp_path.open("xb")
                elif item is None:
                    if current is not None and handle is None and current.name:
                        received.fields[current.name] = bytes(buffer).decode("utf-8", "replace")
                    elif handle is not None:
                        handle.close()
                        handle = None
                    current = None
                elif handle is not None:
                    received.size += len(item)
                    if received.size > max_bytes:
                        raise UploadError(413, "too large")
                    handle.write(item)
                else:
                    buffer += item
                    if len(buffer) > FIELD_LIMIT:
                        raise UploadError(413, "field too large")
        parser.close()
    except MultipartError as exc:
        if handle is not None:
            handle.close()
        received.discard()
        raise UploadError(400, "The form could not be read; please try again.") from exc
    except BaseException:
        if handle is not None:
            handle.close()
        received.discard()
        raise
    return received


def store(received: Received, upload_dir: Path, ext: str) -> str:
    """Move the checked temporary file to its final, server-chosen name; return that name."""
    assert received.temp_path is not None
    name = f"{secrets.token_hex(16)}.{ext}"
    os.replace(received.temp_path, upload_dir / name)
    received.temp_path = None
    return name
