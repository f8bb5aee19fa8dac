"""Settings read from the environment (prefix ``EHALSODAG_``).

Defaults give one machine with SQLite and in-process channels; set
``EHALSODAG_DATABASE_URL`` and ``EHALSODAG_REDIS_URL`` to scale out.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

N = TypeVar("N", int, float)

#: The package folder: templates, static files, the demo programmes, translations and migrations ship inside it,
#: so a non-editable install (a wheel, a container) finds them wherever it is installed.
PACKAGE_DIR = Path(__file__).resolve().parent
#: The programme files ``ehalsodag serve --demo`` loads (``ehalsodag/programmes/*.toml``: in a checkout a link to the
#: repository's ``agenda/``, in a wheel the files themselves).
PROGRAMMES_DIR = PACKAGE_DIR / "programmes"
#: The repository root when running from a source checkout (an editable install); unused when installed.
PROJECT_ROOT = PACKAGE_DIR.parents[1]


#: Every file type a material may have (each is checked by its content: ``ehalsodag.materials.files``).
UPLOAD_TYPES = ("pdf", "pptx", "docx", "png", "jpg", "jpeg", "gif", "webp")


def _default_var_dir() -> Path:
    """``var/`` of the checkout in development, else ``var/`` in the working directory (never site-packages)."""
    if (PROJECT_ROOT / "pyproject.toml").exists():
        return PROJECT_ROOT / "var"
    return Path.cwd() / "var"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"EHALSODAG_{name}")
    return value if value not in (None, "") else default


class ConfigurationError(ValueError):
    """A variable that cannot be read (its message is one line that names it)."""


def _number(name: str, default: N, kind: Callable[[str], N]) -> N:
    value = _env(name)
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError:
        raise ConfigurationError(f"EHALSODAG_{name} must be a number, not {value!r}") from None


def _default_secret(var_dir: Path) -> str:
    """Keep a generated secret in var/ so sessions survive a restart on a dev machine."""
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # created readable by its owner only, before a byte is written (no moment where others could read it)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(key)
    return key


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved once at start-up."""

    database_url: str
    redis_url: str | None
    secret_key: str
    base_url: str | None
    debug: bool = False
    #: The accessibility statement's public body (EHALSODAG_OPERATOR; unset: the events' organisers) and where
    #: to report a barrier (EHALSODAG_ACCESSIBILITY_CONTACT: an e-mail or web address; unset: each organiser).
    operator: str | None = None
    accessibility_contact: str | None = None
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
    #: New attendees per client address and minute: a care unit's 60 phones behind one NAT join in the same minute
    #: (EHALSODAG_JOIN_LIMIT); a browser joining again gets its own attendee back and is not counted.
    join_limit: int = 60
    #: New attendees per client address and hour (EHALSODAG_JOIN_HOUR_LIMIT; unset: ten times ``join_limit``, 600:
    #: a hospital's network behind one address over the first hour).
    join_hour_limit: int | None = None
    #: The most people one attendee may say watch on their screen (EHALSODAG_MAX_GROUP_SIZE).
    max_group_size: int = 50
    #: Poll answers per attendee and 10 seconds (changing one's answer counts too).
    vote_limit: int = 10
    default_language: str = "sv"
    languages: tuple[str, ...] = field(default=("sv", "en"))
    #: ``development`` or ``production`` (EHALSODAG_ENV): production refuses to start without a secret key.
    environment: str = "development"
    #: Worker processes of ``ehalsodag serve`` when ``--workers`` is not given (EHALSODAG_WORKERS).
    workers: int = 1
    #: Proxy addresses whose X-Forwarded-For/-Proto uvicorn trusts (EHALSODAG_FORWARDED_ALLOW_IPS); unset:
    #: uvicorn's default, 127.0.0.1 (a proxy on the same machine).
    forwarded_allow_ips: str | None = None
    #: The operator accepts several worker processes on one SQLite file (EHALSODAG_ALLOW_SQLITE_WORKERS=1).
    allow_sqlite_workers: bool = False
    #: Seconds between SIGTERM (/readyz turns 503) and closing the sockets (EHALSODAG_SHUTDOWN_DRAIN_SECONDS; the
    #: served worker reads it again in ``ehalsodag.server.drain_seconds``).
    shutdown_drain_seconds: float = 0.0
    #: ``text`` (uvicorn's default lines) or ``json``: one JSON line per request and socket event, nothing personal.
    log_format: str = "text"
    #: Bearer token for GET /metrics (Prometheus); unset: no metrics endpoint (404).
    metrics_token: str | None = None
    #: Where the framework's uploaded materials are kept (EHALSODAG_UPLOAD_DIR; default: uploads/ in the var dir).
    upload_dir: Path = field(default_factory=lambda: _default_var_dir() / "uploads")
    #: Largest material file accepted, in bytes (EHALSODAG_UPLOAD_MAX_MB, default 50).
    upload_max_bytes: int = 50 * 1024 * 1024
    #: File types accepted there, by extension (EHALSODAG_UPLOAD_TYPES, comma-separated; default: every type the
    #: server can check by its content: pdf, pptx, docx, png, jpg, jpeg, gif, webp).
    upload_types: tuple[str, ...] = UPLOAD_TYPES

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite (the single-machine default)."""
        return self.database_url.startswith("sqlite")

    @property
    def joins_per_hour(self) -> int:
        """New attendees per client address and hour (``join_hour_limit``, else ten times the minute's)."""
        return self.join_hour_limit or 10 * self.join_limit

    @property
    def production(self) -> bool:
        """True with ``EHALSODAG_ENV=production``: no secret is generated, a missing one refuses the start."""
        return self.environment == "production"

    @property
    def https(self) -> bool:
        """True when the public base URL is https: cookies then get the Secure flag."""
        return bool(self.base_url and self.base_url.startswith("https://"))


def load_settings() -> Settings:
    """Read the settings from the environment."""
    var_dir = Path(_env("VAR_DIR", str(_default_var_dir())) or "var")
    database_url = _env("DATABASE_URL") or f"sqlite+aiosqlite:///{var_dir / 'ehalsodag.sqlite3'}"
    if database_url.startswith("sqlite"):
        var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    environment = (_env("ENV", "development") or "development").lower()
    # production never invents a secret: a missing one is refused by configuration_problems()
    secret = _env("SECRET_KEY") or ("" if environment == "production" else _default_secret(var_dir))
    return Settings(
        database_url=database_url,
        redis_url=_env("REDIS_URL"),
        secret_key=secret,
        base_url=_env("BASE_URL"),
        debug=_env("DEBUG", "0") == "1",
        operator=_env("OPERATOR"),
        accessibility_contact=_env("ACCESSIBILITY_CONTACT"),
        channel_prefix=_env("CHANNEL_PREFIX", "ehalsodag") or "ehalsodag",
        attendance_seconds=_number("ATTENDANCE_SECONDS", 60.0, float),
        join_limit=_number("JOIN_LIMIT", 60, int),
        join_hour_limit=_number("JOIN_HOUR_LIMIT", 0, int) or None,
        max_group_size=_number("MAX_GROUP_SIZE", 50, int),
        vote_limit=_number("VOTE_LIMIT", 10, int),
        sqlite_synchronous=(_env("SQLITE_SYNCHRONOUS", "FULL") or "FULL").upper(),
        log_format=(_env("LOG_FORMAT", "text") or "text").lower(),
        metrics_token=_env("METRICS_TOKEN"),
        environment=environment,
        workers=_number("WORKERS", 1, int),
        forwarded_allow_ips=_env("FORWARDED_ALLOW_IPS"),
        allow_sqlite_workers=_env("ALLOW_SQLITE_WORKERS", "0") == "1",
        shutdown_drain_seconds=_number("SHUTDOWN_DRAIN_SECONDS", 0.0, float),
        upload_dir=Path(_env("UPLOAD_DIR") or var_dir / "uploads"),
        upload_max_bytes=int(_number("UPLOAD_MAX_MB", 50.0, float) * 1024 * 1024),
        upload_types=tuple(t.strip().lower().lstrip(".") for t in (_env("UPLOAD_TYPES") or ",".join(UPLOAD_TYPES))
                           .split(",") if t.strip()),
    )


# --- configurations that cannot be half right (``ehalsodag serve`` refuses them, ``check-config`` lists them) ---

#: Hosts that only this machine reaches: a proxy in front of them runs here, and uvicorn trusts 127.0.0.1 by default.
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def _loopback(host: str) -> bool:
    return host in _LOOPBACK or host.startswith("127.")


def configuration_problems(settings: Settings, *, workers: int, host: str) -> list[str]:
    """What is wrong with ``settings`` served by ``workers`` processes on ``host``: one line per problem, each
    starting with the variable to change. Nothing here connects anywhere (see ``ehalsodag.operations.checks``)."""
    problems = []
    if settings.environment not in ("development", "production"):
        problems.append(f"EHALSODAG_ENV must be development or production, not {settings.environment!r}")
    if settings.log_format not in ("text", "json"):
        problems.append(f"EHALSODAG_LOG_FORMAT must be text or json, not {settings.log_format!r}")
    if workers > 1 and not settings.redis_url:
        problems.append(f"EHALSODAG_REDIS_URL is not set but {workers} workers were asked for: each worker would keep "
                        "its live pushes to itself (attendees on one never see a moderator's action on another); "
                        "set EHALSODAG_REDIS_URL or run one worker")
    if workers > 1 and settings.is_sqlite and not settings.allow_sqlite_workers:
        problems.append(f"EHALSODAG_DATABASE_URL is SQLite but {workers} workers were asked for: use PostgreSQL, or "
                        "set EHALSODAG_ALLOW_SQLITE_WORKERS=1 to accept several processes writing one SQLite file")
    if workers < 1:
        problems.append(f"EHALSODAG_WORKERS (or --workers) must be at least 1, not {workers}")
    if settings.base_url and not settings.base_url.startswith(("http://", "https://")):
        problems.append(f"EHALSODAG_BASE_URL must start with https:// (or http://), not {settings.base_url!r}")
    if settings.https and not settings.forwarded_allow_ips and not _loopback(host):
        problems.append(f"EHALSODAG_FORWARDED_ALLOW_IPS is not set but EHALSODAG_BASE_URL is https and the server "
                        f"listens on {host}: the TLS proxy's X-Forwarded-For/-Proto would be ignored (every attendee "
                        "would share the proxy's address); set it to the proxy's address, or '*' when only the "
                        "proxy reaches this port")
    if settings.production and not settings.secret_key:
        problems.append("EHALSODAG_SECRET_KEY is not set and EHALSODAG_ENV=production: set a long random value, "
                        "e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(48))'")
    elif settings.production and len(settings.secret_key) < 32:
        problems.append("EHALSODAG_SECRET_KEY is shorter than 32 characters and EHALSODAG_ENV=production: "
                        "set a long random value")
    if settings.production and not settings.base_url:
        problems.append("EHALSODAG_BASE_URL is not set and EHALSODAG_ENV=production: set the public address "
                        "(e.g. https://ehalsodag.example.se); without it the join QR code and the schedule exports "
                        "would carry whatever Host a request names, and requests for other hosts are not refused")
    if settings.production and settings.debug:
        problems.append("EHALSODAG_DEBUG=1 and EHALSODAG_ENV=production: debug pages show tracebacks to anyone")
    unknown = [t for t in settings.upload_types if t not in UPLOAD_TYPES]
    if unknown:
        problems.append(f"EHALSODAG_UPLOAD_TYPES names types the server cannot check by their content "
                        f"({', '.join(unknown)}); choose from {', '.join(UPLOAD_TYPES)}")
    if settings.upload_max_bytes <= 0:
        problems.append("EHALSODAG_UPLOAD_MAX_MB must be more than 0")
    if settings.sqlite_synchronous not in _SYNCHRONOUS:
        problems.append(f"EHALSODAG_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA, "
                        f"not {settings.sqlite_synchronous!r}")
    return problems


def masked_url(url: str | None) -> str | None:
    """``url`` with its password replaced by ``***`` (for logs and ``check-config``)."""
    if not url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    credentials, _at, host = parts.netloc.rpartition("@")
    user = credentials.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def effective_configuration(settings: Settings, *, workers: int, host: str) -> list[tuple[str, str]]:
    """Every variable's effective value (secrets masked), as ``ehalsodag check-config`` prints it."""

    def shown(value: object, unset: str = "(unset)") -> str:
        return unset if value in (None, "") else str(value)

    secret = "(unset)"
    if settings.secret_key:
        secret = "*** (set)" if _env("SECRET_KEY") else "*** (generated into var/secret_key)"
    return [
        ("EHALSODAG_ENV", settings.environment),
        ("EHALSODAG_DATABASE_URL", shown(masked_url(settings.database_url))),
        ("EHALSODAG_REDIS_URL", shown(masked_url(settings.redis_url), "(unset: in-process channels)")),
        ("EHALSODAG_SECRET_KEY", secret),
        ("EHALSODAG_BASE_URL", shown(settings.base_url)),
        ("EHALSODAG_WORKERS", f"{workers} (--workers or EHALSODAG_WORKERS)"),
        ("host", host),
        ("EHALSODAG_FORWARDED_ALLOW_IPS", shown(settings.forwarded_allow_ips, "(unset: 127.0.0.1)")),
        ("EHALSODAG_ALLOW_SQLITE_WORKERS", "1" if settings.allow_sqlite_workers else "0"),
        ("EHALSODAG_DEBUG", "1" if settings.debug else "0"),
        ("EHALSODAG_VAR_DIR", shown(_env("VAR_DIR"), f"(unset: {_default_var_dir()})")),
        ("EHALSODAG_CHANNEL_PREFIX", settings.channel_prefix),
        ("EHALSODAG_SQLITE_SYNCHRONOUS", settings.sqlite_synchronous),
        ("EHALSODAG_ATTENDANCE_SECONDS", f"{settings.attendance_seconds:g}"),
        ("EHALSODAG_JOIN_LIMIT", str(settings.join_limit)),
        ("EHALSODAG_JOIN_HOUR_LIMIT", str(settings.joins_per_hour)),
        ("EHALSODAG_MAX_GROUP_SIZE", str(settings.max_group_size)),
        ("EHALSODAG_VOTE_LIMIT", str(settings.vote_limit)),
        ("EHALSODAG_LOG_FORMAT", settings.log_format),
        ("EHALSODAG_METRICS_TOKEN", "*** (set)" if settings.metrics_token else "(unset: no /metrics)"),
        ("EHALSODAG_SHUTDOWN_DRAIN_SECONDS", f"{settings.shutdown_drain_seconds:g}"),
        ("EHALSODAG_UPLOAD_DIR", str(settings.upload_dir)),
        ("EHALSODAG_UPLOAD_MAX_MB", f"{settings.upload_max_bytes / 1024 / 1024:g}"),
        ("EHALSODAG_UPLOAD_TYPES", ",".join(settings.upload_types)),
    ]
