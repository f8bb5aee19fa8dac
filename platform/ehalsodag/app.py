"""``create_app(settings) -> Litestar``: the one place where everything is registered."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Receive, Scope, Send
from redis.asyncio import BlockingConnectionPool, Redis

import ehalsodag.models  # noqa: F401  (every domain's tables are mapped before the first query)
from ehalsodag import __version__, metrics
from ehalsodag.accounts.routes import routes as account_routes
from ehalsodag.agenda import tracks
from ehalsodag.agenda.dependencies import provide_event
from ehalsodag.agenda.fragments import AgendaFragments, clock_state
from ehalsodag.agenda.models import Event
from ehalsodag.agenda.routes import routes as agenda_routes
from ehalsodag.agenda.service import EventIds, event_by_id
from ehalsodag.attendees.dependencies import provide_attendee
from ehalsodag.attendees.routes import routes as attendee_routes
from ehalsodag.attendees.service import AttendeeTokens
from ehalsodag.changes import ChangeFeed
from ehalsodag.chat.fragments import ChatFragments
from ehalsodag.chat.routes import routes as chat_routes
from ehalsodag.control.routes import routes as control_routes
from ehalsodag.days.routes import routes as days_routes
from ehalsodag.days.visibility import draft_guard
from ehalsodag.db.batch import BatchInserter
from ehalsodag.db.engine import Database
from ehalsodag.evaluation.fragments import EvaluationFragments
from ehalsodag.evaluation.fragments import status as evaluation_status
from ehalsodag.evaluation.routes import routes as evaluation_routes
from ehalsodag.evaluation.service import window as evaluation_window
from ehalsodag.fragments import ClockState, FragmentSource
from ehalsodag.live.attendance import AttendanceRecorder
from ehalsodag.live.broadcast import Broadcaster, Renderer, ResultsClaims
from ehalsodag.live.hub import RAW_SEND_KEY, Connection, ControlHandler, Hub, HubHealth
from ehalsodag.live.routes import routes as live_routes
from ehalsodag.live.snapshots import Snapshots
from ehalsodag.live.ticker import ClockTicker
from ehalsodag.materials.archive_routes import routes as archive_routes
from ehalsodag.materials.rehearsal_routes import routes as rehearsal_routes
from ehalsodag.materials.routes import routes as material_routes
from ehalsodag.metrics.endpoint import metrics_controller, prometheus_config
from ehalsodag.operations.collector import Collector
from ehalsodag.operations.readiness import Readiness
from ehalsodag.operations.routes import routes as operations_routes
from ehalsodag.polls.batch import VoteWriter
from ehalsodag.polls.fragments import PollFragments
from ehalsodag.polls.routes import routes as poll_routes
from ehalsodag.polls.routes import socket_vote
from ehalsodag.polls.service import PollEvents
from ehalsodag.polls.service import follow_clock as poll_follow_clock
from ehalsodag.polls.tally import rebuild_tallies
from ehalsodag.privacy.routes import routes as privacy_routes
from ehalsodag.qa.fragments import QuestionFragments
from ehalsodag.qa.routes import routes as qa_routes
from ehalsodag.results.routes import routes as results_routes
from ehalsodag.safety.routes import routes as safety_routes
from ehalsodag.safety.service import UndoFinisher
from ehalsodag.screen.fragments import ScreenFragments
from ehalsodag.screen.routes import routes as screen_routes
from ehalsodag.settings import Settings, load_settings
from ehalsodag.staff.auth import provide_allowed, provide_staff
from ehalsodag.staff.routes import LOGIN_PER_ACCOUNT, LOGIN_PER_ADDRESS, LOGIN_WINDOW_SECONDS
from ehalsodag.staff.routes import routes as staff_routes
from ehalsodag.studio.routes import routes as studio_routes
from ehalsodag.web.actions import close_abandoned_unit_of_work, provide_unit_of_work
from ehalsodag.web.language import language_middleware
from ehalsodag.web.logs import litestar_logging_config, request_log
from ehalsodag.web.paths import ids_in_range
from ehalsodag.web.ratelimit import Limit, MemoryLimiter, RateLimits, RedisLimiter
from ehalsodag.web.request_keys import RequestKeys, request_key_middleware
from ehalsodag.web.requests import Request as AppRequest
from ehalsodag.web.responses import error_handler
from ehalsodag.web.security import (
    add_security_headers,
    guard_api_writes,
    refuse_nul_bytes,
    refuse_unknown_hosts,
)
from ehalsodag.web.templating import environment

#: Hard cap on request bodies (issue: size limits everywhere); forms and JSON are far smaller.
MAX_BODY_BYTES = 64 * 1024


def redis_client(url: str) -> Redis:
    """A Redis client whose callers wait (up to 10 s) for a free connection when all 64 are busy:
    a vote burst must queue for the rate-limit counter, not fail with "too many connections"."""
    return Redis(connection_pool=BlockingConnectionPool.from_url(
        url, max_connections=64, timeout=10, redis_connect_func=metrics.redis_connected,
        socket_connect_timeout=2, socket_timeout=5))  # a Redis host that vanishes must not hang a request


def channels_backend(settings: Settings) -> ChannelsBackend:
    """In-process by default; Redis pub/sub when EHALSODAG_REDIS_URL is set (reconnecting by itself, see
    :mod:`ehalsodag.live.redis_channels`)."""
    if settings.redis_url:
        from ehalsodag.live.redis_channels import ResilientRedisChannels

        return ResilientRedisChannels(settings.redis_url, redis_client(settings.redis_url))
    return MemoryChannelsBackend()


def _documented(path: str) -> bool:
    return path.startswith("/api/") or "/schedule." in path or "/results/export/" in path


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI document at /schema (JSON; /schema/openapi.yaml as YAML). No viewer that loads
    scripts from elsewhere."""
    return OpenAPIConfig(
        title="ehalsodag API",
        version=__version__,
        description=(
            "JSON API of the ehalsodag e-health day platform (see CONTRACT.md). Attendees authenticate with "
            "`Authorization: Bearer <attendee_token>` from POST /api/v1/events/{slug}/join, staff with a token from "
            "`ehalsodag token create EMAIL`. Errors are `{status_code, detail}`."
        ),
        path="/schema",
        render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"]), YamlRenderPlugin(path="/openapi.yaml")],
        components=Components(security_schemes={
            "bearer": SecurityScheme(type="http", scheme="bearer", description="attendee or staff token")}),
        security=[{"bearer": []}],
        use_handler_docstrings=True,
    )


def rate_limits(settings: Settings) -> RateLimits:
    """Per-attendee and per-address limits; counted in Redis when there is one, so every worker agrees."""
    configured = {"join": Limit(settings.join_limit, 60.0), "vote": Limit(settings.vote_limit, 10.0),
                  "login_account": Limit(LOGIN_PER_ACCOUNT, LOGIN_WINDOW_SECONDS),
                  "login_address": Limit(LOGIN_PER_ADDRESS, LOGIN_WINDOW_SECONDS),
                  "join_hour": Limit(settings.joins_per_hour, 3600.0),
                  # codes tried per address (QR scans, typos): twice the joins, as a region behind one address joins too
                  "code": Limit(2 * settings.join_limit, 60.0)}
    if settings.redis_url:
        return RateLimits(RedisLimiter(redis_client(settings.redis_url), settings.channel_prefix), configured)
    return RateLimits(MemoryLimiter(), configured)


def create_served_app() -> ASGIApp:
    """The app as ``ehalsodag serve`` runs it: websocket scopes also carry the server's own ``send``.

    Pushes to thousands of sockets are the hottest loop of the platform; sending a text frame through
    the server's send directly skips four wrappers per socket and frame that do nothing for an
    accepted websocket's text frames (see :class:`ehalsodag.live.hub.Connection`).
    """
    app = create_app()
    # EHALSODAG_LOG_FORMAT=json: one line per request and socket event (inside, so pushes skip it too)
    inner: ASGIApp = request_log(app) if app.state.settings.log_format == "json" else app

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND_KEY] = send  # type: ignore[literal-required]
        await inner(scope, receive, send)

    return served


def fragment_sources() -> list[FragmentSource]:
    """Every domain's live view, in the order a snapshot shows them."""
    return [AgendaFragments(), QuestionFragments(), PollFragments(), ChatFragments(), EvaluationFragments(),
            ScreenFragments()]


def _control_handler(ticker: ClockTicker, snapshots: Snapshots) -> ControlHandler:
    """What each worker does with a control message of the hub: re-check which stage each region follows after a
    moderator's action, or send fresh snapshots to an attendee who chose another region. In tasks of their own:
    the hub's delivery of pushes must not wait for them."""
    running: set[asyncio.Task[None]] = set()

    async def handle(event_id: int, message: dict[str, Any], sockets: list[Connection]) -> None:
        work = ticker.recheck(event_id) if message["c"] == "recheck" else snapshots.resend(event_id, sockets)
        task = asyncio.create_task(work)
        running.add(task)
        task.add_done_callback(running.discard)

    return handle


def day_clock(event: Event, at: dt.datetime | None = None) -> ClockState:
    """What the clock decides of ``event`` (see ``clock_state``), with where its evaluation window stands: the
    ticker pushes the evaluation when the clock opens or closes it (a closed form must not stay on the page)."""
    return replace(clock_state(event, at), evaluation=evaluation_status(evaluation_window(event, at), at))


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application for ``settings`` (read from the environment when omitted)."""
    settings = settings or load_settings()
    db = Database(settings, ChangeFeed())
    backend = channels_backend(settings)
    channels = ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)
    hub = Hub(channels, queue_limit=settings.socket_queue_limit, prefix=settings.channel_prefix,
              health=backend if isinstance(backend, HubHealth) else None)
    claims = ResultsClaims(redis_client(settings.redis_url), settings.channel_prefix) if settings.redis_url else None
    renderer = Renderer(settings.templates_dir)
    sources = fragment_sources()
    broadcaster = Broadcaster(db, hub, renderer, sources, event_by_id, claims=claims, route=tracks.socket_stages)
    db.feed.subscribe(broadcaster.on_changes)
    # a few personal snapshots at a time: a reconnect storm queues instead of taking every pooled connection
    snapshots = Snapshots(db, hub, renderer, sources, event_by_id,
                          personal_at_once=6, follows=lambda event: clock_state(event).tracks)
    async def polls_follow_clock(event_id: int, moves: set[tuple[int | None, int | None]]) -> None:
        async with db.unit_of_work() as session:
            event = await event_by_id(session, event_id)
            if event is not None:
                await poll_follow_clock(session, event, moves)

    ticker = ClockTicker(broadcaster, day_clock, resend=snapshots.resend, follow=polls_follow_clock)
    hub.on_control = _control_handler(ticker, snapshots)
    attendance = AttendanceRecorder(db, hub, interval=settings.attendance_seconds)
    collector = Collector()
    vote_writer = VoteWriter(db)
    poll_events = PollEvents(db)
    event_ids = EventIds(db)
    attendee_tokens = AttendeeTokens(db)
    inserter = BatchInserter(db)
    undo_finisher = UndoFinisher(db)
    readiness = Readiness(db, channels, settings.channel_prefix)
    metrics.watch(hub=hub, engine=db.engine)

    async def event_slug(event_id: int) -> str | None:
        async with db.reader() as session:
            event = await session.get(Event, event_id)
            return event.slug if event else None

    # GET /metrics only with a token (else 404), and requests timed only then
    monitoring = [metrics_controller(settings.metrics_token, event_slug)] if settings.metrics_token else []

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        collector.start()
        try:  # Python's own garbage collection comes back however the start or the shutdown ends
            ticker.start()
            broadcaster.start()
            attendance.start()
            recount = await rebuild_tallies(db)  # a task only while the database's migrations are behind
            vote_writer.start()
            inserter.start()
            undo_finisher.start()  # at once: undo windows that passed while the server was down are finished
            try:
                yield
            finally:
                readiness.shutting_down = True  # first: /readyz answers 503 while the rest shuts down
                if recount is not None:
                    recount.cancel()
                await vote_writer.stop()
                await inserter.stop()
                await undo_finisher.stop()
                await ticker.stop()
                await broadcaster.stop()
                await attendance.stop()
                await db.dispose()
        finally:
            await collector.stop()

    handlers = [*agenda_routes, *attendee_routes, *live_routes, *screen_routes, *staff_routes, *control_routes,
                *qa_routes, *chat_routes, *poll_routes, *evaluation_routes, *results_routes, *privacy_routes,
                *material_routes, *rehearsal_routes, *archive_routes, *studio_routes, *account_routes, *days_routes,
                *safety_routes]
    for handler in handlers:  # the schema documents the API and the downloads, not the HTML pages and forms
        if hasattr(handler, "include_in_schema"):
            handler.include_in_schema = any(_documented(path) for path in handler.paths)
    csrf_secret = hashlib.sha256(("csrf:" + settings.secret_key).encode()).hexdigest()[:32]
    return Litestar(
        route_handlers=[
            *handlers,
            create_static_files_router(path="/static", directories=[settings.static_dir], name="static"),
            *operations_routes,  # /healthz, /readyz: public, not in the schema, not rate limited
            *monitoring,
        ],
        plugins=[
            channels,
            SQLAlchemyPlugin(config=SQLAlchemyAsyncConfig(engine_instance=db.engine, create_all=False)),
        ],
        dependencies={"uow": Provide(provide_unit_of_work), "event": Provide(provide_event),
                      "attendee": Provide(provide_attendee), "staff": Provide(provide_staff),
                      "allowed": Provide(provide_allowed)},
        request_class=AppRequest,
        guards=[ids_in_range, draft_guard],  # ids a database can hold; a draft day is its staff's only
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(environment(settings.templates_dir))
        ),
        csrf_config=CSRFConfig(
            secret=csrf_secret, cookie_secure=settings.https, cookie_samesite="lax", exclude=["^/api/"]
        ),
        middleware=[*([prometheus_config().middleware] if monitoring else []), language_middleware,
                    refuse_unknown_hosts, refuse_nul_bytes, guard_api_writes, request_key_middleware],
        before_send=[add_security_headers],
        openapi_config=openapi_config(),
        exception_handlers={HTTPException: error_handler, Exception: error_handler},
        after_exception=[close_abandoned_unit_of_work],
        lifespan=[lifespan],
        request_max_body_size=MAX_BODY_BYTES,
        state=State({"settings": settings, "db": db, "hub": hub, "broadcaster": broadcaster, "snapshots": snapshots,
                     "rate_limits": rate_limits(settings), "attendance": attendance,
                     "vote_writer": vote_writer, "inserter": inserter, "poll_events": poll_events,
                     "socket_actions": {"vote": socket_vote},
                     "attendee_tokens": attendee_tokens, "event_ids": event_ids, "readiness": readiness,
                     "request_keys": RequestKeys(redis_client(settings.redis_url) if settings.redis_url else None,
                                                 settings.channel_prefix)}),
        logging_config=litestar_logging_config(settings.log_format),
        debug=settings.debug,
    )
