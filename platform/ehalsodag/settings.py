"""Settings read from the environment (prefix ``EHALSODAG_``).

Defaults give one machine with SQLite and in-process channels; set
``EHALSODAG_DATABASE_URL`` and ``EHALSODAG_REDIS_URL`` to scale out.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

#: The package folder: templates, static files, the demo programmes, translations and migrations ship inside it,
#: so a non-editable install (a wheel, a container) finds them wherever it is installed.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The programme files ``ehalsodag serve --demo`` loads (``ehalsodag/programmes/*.toml``).
PROGRAMMES_DIR = PACKAGE_DIR / "programmes"
#: The repository root when running from a source checkout (an editable install); unused when installed.
PROJECT_ROOT = PACKAGE_DIR.parents[1]


def _default_var_dir() -> Path:
    """``var/`` of the checkout in development, else ``var/`` in the working directory (never site-packages)."""
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT / "var"
    return Path.cwd() / "var"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"EHALSODAG_{name}")
    return value if value not in (None, "") else default


def _default_secret(var_dir: Path) -> str:
    """Keep a generated secret in var/ so sessions survive a restart on a dev machine."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once at start-up."""

    database_url: str
    redis_url: str | None
    secret_key: str
    base_url: str | None
    debug: bool = False
    #: Prefix of the realtime channel names, so that several installations can share one Redis.
    channel_prefix: str = "ehalsodag"
    sqlite_synchronous: str = "FULL"
    templates_dir: Path = PACKAGE_DIR / "templates"
    static_dir: Path = PACKAGE_DIR / "static"
    agenda_dir: Path = PROGRAMMES_DIR
    #: Messages a socket may have queued before it counts as slow and is dropped.
    socket_queue_limit: int = 256
    #: Seconds between attendance samples (one row per event, worker and minute).
    attendance_seconds: float = 60.0
    #: Joins per client address and minute (a care unit's network may put hundreds behind one address).
    join_limit: int = 600
    #: Poll answers per attendee and 10 seconds (changing one's answer counts too).
    vote_limit: int = 10
    default_language: str = "sv"
    languages: tuple[str, ...] = field(default=("sv", "en"))
    #: ``text`` (uvicorn's default lines) or ``json``: one JSON line per request and socket event, nothing personal.
    log_format: str = "text"
    #: Bearer token for GET /metrics (Prometheus); unset: no metrics endpoint (404).
    metrics_token: str | None = None

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite (the single-machine default)."""
        return self.database_url.startswith("sqlite")

    @property
    def https(self) -> bool:
        """True when the public base URL is https: cookies then get the Secure flag."""
        return bool(self.base_url and self.base_url.startswith("https://"))


def load_settings() -> Settings:
    """Read the settings from the environment."""
    var_dir = Path(_env("VAR_DIR", str(_default_var_dir())) or "var")
    database_url = _env("DATABASE_URL") or f"sqlite+aiosqlite:///{var_dir / 'ehalsodag.sqlite3'}"
    if database_url.startswith("sqlite"):
        var_dir.mkdir(parents=True, exist_ok=True)
    secret = _env("SECRET_KEY") or _default_secret(var_dir)
    return Settings(
        database_url=database_url,
        redis_url=_env("REDIS_URL"),
        secret_key=secret,
        base_url=_env("BASE_URL"),
        debug=_env("DEBUG", "0") == "1",
        channel_prefix=_env("CHANNEL_PREFIX", "ehalsodag") or "ehalsodag",
        attendance_seconds=float(_env("ATTENDANCE_SECONDS", "60") or 60),
        join_limit=int(_env("JOIN_LIMIT", "600") or 600),
        vote_limit=int(_env("VOTE_LIMIT", "10") or 10),
        sqlite_synchronous=(_env("SQLITE_SYNCHRONOUS", "FULL") or "FULL").upper(),
        log_format=(_env("LOG_FORMAT", "text") or "text").lower(),
        metrics_token=_env("METRICS_TOKEN"),
    )
