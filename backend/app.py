"""create_app(): the Litestar application with its routes, guards and lifespan."""

from __future__ import annotations

import asyncio

import asyncpg
from litestar import Litestar, Response, get
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from backend.auth.guards import PUBLIC, TokenAuthMiddleware, role_guard
from backend.auth.routes import AuthController, DeviceController, UserController
from backend.catalog.routes import (
    LocationController,
    ProductController,
    SupplierController,
    WarehouseController,
)
from backend.counts.routes import CountController, CountTaskController
from backend.db.engine import connection_pool, start_pool, stop_pool
from backend.errors import PROBLEM_RESPONSES, exception_handlers
from backend.fulfilment.routes import (
    ChannelController,
    CustomerController,
    LotRulesController,
    OrderController,
    PickTaskController,
    WaveController,
)
from backend.holds.routes import HoldController
from backend.labels.routes import LabelController
from backend.ledger.routes import StockController
from backend.live.hub import start_hub, stop_hub
from backend.live.routes import LiveAckController, live_socket
from backend.lots.routes import LotController
from backend.offline.routes import (
    OfflineController,
    ReplayController,
    ScanExceptionController,
)
from backend.receiving.routes import ReceiptController
from backend.returns.routes import ReturnController
from backend.scanning.recorder import stop_recorder
from backend.scanning.routes import BarcodeController, ScanController
from backend.settings import PROJECT_ROOT, get_settings
from backend.trace.routes import ExportController, RecallReportController, TraceController
from backend.web.console import ConsoleController
from backend.web.console_people import PeoplePages
from backend.web.console_recalls import RecallPages
from backend.web.console_receiving import ReceivingPages
from backend.web.console_review import ReviewPages
from backend.web.deps import provide_db
from backend.web.heap import settle_heap
from backend.web.pwa import service_worker, shell_page
from backend.web.strict_body import check_body_strictly

__all__ = ["STATIC_DIR", "TEMPLATE_DIR", "create_app"]

STATIC_DIR = PROJECT_ROOT / "pwa" / "static"
"""Files served at /static; third-party ones are copied into vendor/ by scripts/setup."""

TEMPLATE_DIR = PROJECT_ROOT / "pwa" / "templates"
"""Jinja2 templates of the server-rendered pages (the console's under console/)."""

_SWAGGER = "/static/vendor/swagger-ui"


@get("/health", opt=PUBLIC, tags=["health"], operation_id="health")
async def health() -> Response[dict[str, str]]:
    """Whether this worker and its database answer."""
    try:
        async with asyncio.timeout(2):
            await connection_pool().fetchval("SELECT 1")
    except (OSError, TimeoutError, RuntimeError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return Response({"status": "degraded", "database": "down"}, status_code=503)
    return Response({"status": "ok", "database": "ok"})


def create_app() -> Litestar:
    """Build the application; every worker process calls this once."""
    settings = get_settings()
    app = Litestar(
        route_handlers=[
            health,
            AuthController,
            UserController,
            DeviceController,
            WarehouseController,
            LocationController,
            SupplierController,
            ProductController,
            ReceiptController,
            StockController,
            LotController,
            BarcodeController,
            ScanController,
            ReplayController,
            OfflineController,
            ScanExceptionController,
            ChannelController,
            CustomerController,
            LotRulesController,
            OrderController,
            WaveController,
            PickTaskController,
            HoldController,
            CountController,
            CountTaskController,
            ReturnController,
            TraceController,
            RecallReportController,
            ExportController,
            LabelController,
            LiveAckController,
            live_socket,
            shell_page,
            service_worker,
            ConsoleController,
            ReceivingPages,
            RecallPages,
            ReviewPages,
            PeoplePages,
            create_static_files_router(
                path="/static",
                directories=[STATIC_DIR],
                opt=PUBLIC,
                include_in_schema=False,
                name="static",
            ),
        ],
        dependencies={"db": Provide(provide_db)},
        template_config=TemplateConfig(directory=TEMPLATE_DIR, engine=JinjaTemplateEngine),
        middleware=[
            DefineMiddleware(
                TokenAuthMiddleware, exclude=["^/schema", "^/health", "^/static/", "^/ws$"]
            )
        ],
        guards=[role_guard],
        before_request=check_body_strictly,
        exception_handlers=exception_handlers,
        on_startup=[start_pool, start_hub, settle_heap],
        on_shutdown=[stop_hub, stop_recorder, stop_pool],
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="lotline",
            version="1.0.0",
            description="Lot and batch tracking for e-commerce warehouses.",
            path="/schema",
            render_plugins=[
                SwaggerRenderPlugin(
                    js_url=f"{_SWAGGER}/swagger-ui-bundle.js",
                    css_url=f"{_SWAGGER}/swagger-ui.css",
                    standalone_preset_js_url=f"{_SWAGGER}/swagger-ui-standalone-preset.js",
                    favicon=f"<link rel='icon' href='{_SWAGGER}/favicon-32x32.png'>",
                )
            ],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="opaque")
                }
            ),
            security=[{"bearer": []}],
        ),
        debug=False,
    )
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.include_in_schema:
                handler.responses = {**PROBLEM_RESPONSES, **(handler.responses or {})}
    return app
