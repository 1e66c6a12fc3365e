"""The application factory: ``judging.app:create_app(settings)``.

Everything with state (database engine, channels backend, stores) is built here, per app instance.
Routes are split by audience, one router each, with the audience's guard on the router.
"""

from __future__ import annotations

import gc
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.memory import MemoryStore
from litestar.stores.registry import StoreRegistry
from litestar.template.config import TemplateConfig
from sqlalchemy.exc import DataError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from judging import __version__
from judging.auth import AuthMiddleware, LoginLimiter
from judging.db.engine import Database
from judging.errors import (
    busy_handler,
    database_error_handler,
    http_exception_handler,
    internal_error_handler,
    out_of_range_handler,
)
from judging.feed import LiveFeedPlugin
from judging.observability import RequestIdMiddleware, gc_pauses
from judging.origin import OriginMiddleware
from judging.routes import routers
from judging.settings import Settings
from live.channels import make_backend, make_channels_plugin
from live.wire import RAW_SEND_KEY

HERE = Path(__file__).parent
log = logging.getLogger("podium")


def make_stores(settings: Settings) -> StoreRegistry:
    if settings.redis_url:
        from litestar.stores.redis import RedisStore

        root = RedisStore.with_client(url=settings.redis_url, namespace="podium")
        return StoreRegistry(default_factory=root.with_namespace)
    return StoreRegistry(default_factory=lambda _name: MemoryStore())


def add_template_filters(engine: JinjaTemplateEngine, settings: Settings) -> None:
    from judging.web import local_time, percent, points

    engine.engine.filters["points"] = points
    engine.engine.filters["percent"] = percent
    engine.engine.filters["local"] = lambda value, fmt="%Y-%m-%d %H:%M": local_time(value, settings.tz, fmt)
    engine.engine.globals["tz_label"] = lambda: local_time(None, settings.tz, "")  # e.g. "UTC+08:00", now


def create_app(settings: Settings | None = None) -> Litestar:
    settings = (settings or Settings.from_env()).with_secret()
    gc_pauses.install()  # once per process: the status page reports the collector's pauses
    db = Database(settings)
    stores = make_stores(settings)
    backend = make_backend(settings.redis_url)
    channels = make_channels_plugin(backend)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        from judging.staff.web import sweep_uploads

        imports = Path(settings.var_dir) / "imports"
        if imports.is_dir():
            sweep_uploads(imports)  # uploads older than a day (they hold people's names)
        try:
            yield
        finally:
            await db.dispose()

    state = State({
        "settings": settings,
        "db": db,
        "broadcaster": backend,
        "login_limiter": LoginLimiter(
            stores.get("login_attempts"), settings.login_max_failures, settings.login_window_seconds
        ),
    })
    app = Litestar(
        route_handlers=[
            *routers(),
            create_static_files_router(path="/static", directories=[HERE / "static"], include_in_schema=False),
        ],
        plugins=[channels, LiveFeedPlugin()],  # after channels: the publisher starts after the backend
        stores=stores,
        state=state,
        lifespan=[lifespan],
        middleware=[RequestIdMiddleware,
                    DefineMiddleware(OriginMiddleware, trusted=(settings.public_url, settings.board_url)),
                    DefineMiddleware(AuthMiddleware, exclude=["^/static/", "^/schema"])],
        template_config=TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine,
                                       engine_callback=lambda engine: add_template_filters(engine, settings)),
        openapi_config=OpenAPIConfig(
            title="Podium", version=__version__, path="/schema", render_plugins=[ScalarRenderPlugin()],
            description="Judging and scoring for live presentation contests.",
        ),
        exception_handlers={
            HTTPException: http_exception_handler,
            OverflowError: out_of_range_handler,
            DataError: out_of_range_handler,
            DBAPIError: database_error_handler,
            PoolTimeout: busy_handler,
            Exception: internal_error_handler,
        },
        compression_config=CompressionConfig(backend="gzip", minimum_size=2048),
        request_max_body_size=20 * 1024 * 1024,
        debug=settings.debug,
    )
    keep_raw_send(app)
    return app


def serve_app() -> Litestar:
    """The app as ``podium serve`` runs it, in every worker process: the JSON logs at the configured level
    (worker processes do not inherit the parent's logging set-up), then :func:`create_app`."""
    from judging.observability import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    app = create_app(settings)
    app.on_startup.append(_settle_heap)
    return app


GC_THRESHOLDS = (700, 10, 1000)
"""Python's defaults are (700, 10, 10). A full collection walks every tracked object; with a contest's sockets
and sessions in memory it paused the whole server for 80-340 ms every few seconds (bench/README.md). At 100
middle collections per full one, a provincial day's ~2,400 sockets (~420,000 tracked objects, ~110 per socket)
still paused the server ~290 ms about once a minute under load, inside every 31 s benchmark day; at 1,000
(ninth stop) none fell inside a 108 s day. Each is as long when it comes (bench/README.md, ninth stop). Garbage cycles
that reach the oldest generation wait that much longer to be freed. Young collections stay at every 700
allocations: at 3,000 a national day's collector CPU fell from 3.6-5.7 % to 2.1 % of a worker's, but pauses
grew to ~10 ms (young) and 40-55 ms (middle), and the one-process provincial day's latencies were worse in all
three alternated pairs that isolated it (bench/README.md, eighth stop). ``GET /api/staff/status`` shows the
pauses per generation."""


WARM_MODULES = ("judging.staff.grading", "markdown_it")
"""Imported by request handlers on first use (to keep the web layer's import graph light), loaded at start-up
instead: an import runs on the event loop. The first sheet submission after a start imported the grading code
with numpy and ``scoring`` (~120 ms, 230-280 ms on a cold CI machine), and every request waited for it; the
judge guide imports its Markdown renderer. Staff-only imports (openpyxl, for Excel files) stay lazy."""


def _settle_heap() -> None:
    """Once the app is up: the modules request handlers import lazily are loaded (``WARM_MODULES``), and
    everything loaded so far (modules, metadata, templates, catalogs) is moved out of the cyclic collector's reach
    (``gc.freeze``: it is never garbage), and full collections run 100x less often than Python's default.
    Reference counting still frees everything else at once; only garbage cycles wait a little longer."""
    for name in WARM_MODULES:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def keep_raw_send(app: Litestar) -> None:
    """Websocket connections keep the server's own ASGI ``send`` in their scope, before the framework wraps it:
    the live feeds write each event's pre-built frame straight to the transport (:mod:`live.wire`)."""
    inner = app.asgi_handler

    async def handler(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND_KEY] = send
        await inner(scope, receive, send)

    app.asgi_handler = handler
