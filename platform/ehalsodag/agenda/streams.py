"""Which stream and film URLs may be embedded, and how.

Only YouTube, Vimeo, HLS (played with the vendored hls.js) and iframes from the event's own
allow-list are accepted; anything else is refused when the agenda file is loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_YOUTUBE_HOSTS = {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "www.youtube-nocookie.com"}
_VIMEO_HOSTS = {"vimeo.com", "www.vimeo.com", "player.vimeo.com"}


@dataclass(frozen=True)
class Embed:
    """How a page shows a stream: ``kind`` is youtube, vimeo, hls or iframe."""

    kind: str
    src: str

    @property
    def host(self) -> str:
        """The host the browser will contact (for the page's Content-Security-Policy)."""
        return urlsplit(self.src).hostname or ""


class StreamError(ValueError):
    """The URL cannot be embedded."""


def embed_for(url: str, allowed_hosts: list[str] | tuple[str, ...] = ()) -> Embed:
    """Classify ``url``; raise StreamError with a readable reason when it is not allowed."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        raise StreamError(f"must be an https:// URL, not {parts.scheme or 'no scheme'}")
    host = (parts.hostname or "").lower()
    if not host:
        raise StreamError("has no host")
    if host in _YOUTUBE_HOSTS:
        video = _youtube_id(host, parts.path, parts.query)
        if not video:
            raise StreamError("is a YouTube URL without a video id")
        return Embed("youtube", f"https://www.youtube-nocookie.com/embed/{video}")
    if host in _VIMEO_HOSTS:
        match = re.search(r"(?:^|/)(\d{4,12})(?:/|$)", parts.path)
        if not match:
            raise StreamError("is a Vimeo URL without a video number")
        return Embed("vimeo", f"https://player.vimeo.com/video/{match.group(1)}")
    if parts.path.lower().endswith(".m3u8"):
        return Embed("hls", url.strip())
    if host in {h.lower() for h in allowed_hosts}:
        return Embed("iframe", url.strip())
    raise StreamError(
        f"host {host} is not YouTube, Vimeo or an HLS playlist (.m3u8) and not in event.allowed_stream_hosts"
    )


def _youtube_id(host: str, path: str, query: str) -> str | None:
    candidate: str | None = None
    if host == "youtu.be":
        candidate = path.strip("/").split("/")[0]
    elif path == "/watch":
        candidate = (parse_qs(query).get("v") or [None])[0]
    else:
        match = re.match(r"^/(?:embed|live|shorts|v)/([^/]+)", path)
        candidate = match.group(1) if match else None
    return candidate if candidate and _YOUTUBE_ID.match(candidate) else None


def check_link(url: str) -> None:
    """Recording links are opened, not embedded: any https URL with a host will do."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https":
        raise StreamError(f"must be an https:// URL, not {parts.scheme or 'no scheme'}")
    if not parts.hostname:
        raise StreamError("has no host")
