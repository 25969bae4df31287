"""Channels, customers, orders, waves, pick tasks and shipping."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from backend.auth.guards import allow
from backend.auth.schemas import Actor
from backend.errors import DomainError
from backend.fulfilment import orders, packing, picking, waves
from backend.fulfilment.schemas import (
    BarredCountriesIn,
    BarredCountriesOut,
    ChannelIn,
    ChannelOut,
    ClaimIn,
    CustomerIn,
    CustomerOut,
    OrderIn,
    OrderOut,
    OrderStatus,
    PickTaskOut,
    ShipIn,
    ShortIn,
    WaveIn,
    WaveOut,
)
from backend.ledger.idempotency import replayed_response
from backend.web.deps import Db

__all__ = [
    "ChannelController",
    "CustomerController",
    "LotRulesController",
    "OrderController",
    "PickTaskController",
    "WaveController",
]

MANAGERS = allow("supervisor")
PICKERS = allow("picker", "supervisor")
SHIPPERS = allow("packer", "supervisor")
_CSV_LIMIT = 20_000_000


class ChannelController(Controller):
    path = "/api/channels"
    tags = ["fulfilment"]

    @get("/", operation_id="listChannels")
    async def list_channels(self, db: Db) -> list[ChannelOut]:
        """Every sales channel with its lot rules."""
        return await orders.list_channels(db)

    @post("/", opt=MANAGERS, status_code=HTTP_201_CREATED, operation_id="createChannel")
    async def create_channel(self, data: JSONBody[ChannelIn], db: Db) -> ChannelOut:
        """Add a sales channel: its minimum remaining shelf life at ship date and whether a
        line may be split across lots."""
        return await orders.create_channel(db, data)


class CustomerController(Controller):
    path = "/api/customers"
    tags = ["fulfilment"]

    @post("/", opt=MANAGERS, status_code=HTTP_201_CREATED, operation_id="createCustomer")
    async def create_customer(self, data: JSONBody[CustomerIn], db: Db) -> CustomerOut:
        """Add a customer with rules of its own (null: the channel's). Orders create the
        customers they name on first sight, without rules of their own."""
        return await orders.create_customer(db, data)


class LotRulesController(Controller):
    path = "/api/lots"
    tags = ["lots"]

    @put("/{lot_id:int}/barred-countries", opt=MANAGERS, operation_id="setLotBarredCountries")
    async def set_barred_countries(
        self,
        lot_id: FromPath[int],
        data: JSONBody[BarredCountriesIn],
        request: Request[Actor, Any, Any],
        db: Db,
    ) -> BarredCountriesOut:
        """Set the countries a lot may not ship to; waves allocate it elsewhere only."""
        return await orders.set_barred_countries(db, lot_id, data, request.user.user_id)


class OrderController(Controller):
    path = "/api/orders"
    tags = ["fulfilment"]

    @post("/", opt=MANAGERS, status_code=HTTP_201_CREATED, operation_id="createOrder")
    async def create_order(
        self, data: JSONBody[OrderIn], request: Request[Actor, Any, Any], db: Db
    ) -> OrderOut:
        """Take an order; a second order with the same `externalId` in its channel is 409
        duplicate_order."""
        return await orders.create_order(db, data, request.user.user_id)

    @post(
        "/import",
        opt=MANAGERS,
        status_code=HTTP_201_CREATED,
        operation_id="importOrders",
        request_max_body_size=_CSV_LIMIT,
    )
    async def import_orders(self, request: Request[Actor, Any, Any], db: Db) -> list[OrderOut]:
        """Take the orders of a CSV (one row per line; columns in docs/fulfilment.md): all of
        them, or none with 422 invalid_csv naming each bad row."""
        if request.headers.get("content-type", "").split(";")[0].strip() != "text/csv":
            raise DomainError("unsupported_media_type", "Send the orders as text/csv.", 415)
        try:
            text = (await request.body()).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise DomainError("invalid_csv", "The CSV is not UTF-8.", 422, errors=[]) from error
        ids = await orders.import_orders(db, text, request.user.user_id)
        return [await orders.get_order(db, order_id) for order_id in ids]

    @get("/", operation_id="listOrders")
    async def list_orders(
        self,
        db: Db,
        status: FromQuery[OrderStatus | None] = None,
        channel: Annotated[str | None, QueryParameter(max_length=32)] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[OrderOut]:
        """Orders, oldest first; `status=picked` lists those ready to pack."""
        return await orders.list_orders(db, status, channel, limit)

    @get("/{order_id:int}", operation_id="getOrder")
    async def get_order(self, order_id: FromPath[int], db: Db) -> OrderOut:
        """An order with, per line, the lots allocated, picked, packed and shipped."""
        return await orders.get_order(db, order_id)

    @post("/{order_id:int}/ship", opt=SHIPPERS, status_code=200, operation_id="shipOrder")
    async def ship(
        self,
        order_id: FromPath[int],
        request: Request[Actor, Any, Any],
        db: Db,
        data: JSONBody[ShipIn | None] = None,
    ) -> Response[OrderOut]:
        """Ship every packed unit to the customer, checking each lot's status; all or
        nothing. Retrying with the same `idempotencyKey` returns the first result."""
        body = data or ShipIn()
        if body.idempotency_key is None:
            body = ShipIn(idempotency_key=uuid.uuid4())
        return replayed_response(await packing.ship_order(db, order_id, body, request.user))


class WaveController(Controller):
    path = "/api/waves"
    tags = ["fulfilment"]

    @post("/", opt=MANAGERS, status_code=HTTP_201_CREATED, operation_id="createWave")
    async def create_wave(
        self, data: JSONBody[WaveIn], request: Request[Actor, Any, Any], db: Db
    ) -> WaveOut:
        """Allocate open orders (FEFO for dated products, FIFO otherwise; only released,
        unexpired lots that meet the rules) and create their pick tasks. Lines that could
        not be filled are listed with the reason."""
        return await waves.create_wave(db, data, request.user)


class PickTaskController(Controller):
    path = "/api/pick-tasks"
    tags = ["fulfilment"]

    @get("/", opt=PICKERS, operation_id="listPickTasks")
    async def list_tasks(
        self,
        request: Request[Actor, Any, Any],
        db: Db,
        assignee: Annotated[str, QueryParameter(min_length=1, max_length=64)] = "me",
        status: Annotated[str, QueryParameter(pattern="^(open|done|all)$")] = "open",
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> list[PickTaskOut]:
        """Pick tasks in walking order: `assignee=me` (default), `none` or a username."""
        return await picking.list_tasks(db, request.user, assignee, status, limit)

    @post("/claim", opt=PICKERS, status_code=200, operation_id="claimPickTasks")
    async def claim(
        self,
        request: Request[Actor, Any, Any],
        db: Db,
        data: JSONBody[ClaimIn | None] = None,
    ) -> Response[list[PickTaskOut]]:
        """Take the open tasks of the next unclaimed order; answers the caller's open tasks.
        A retry with the same `idempotencyKey` answers the first claim and claims nothing."""
        return replayed_response(await picking.claim_tasks(db, data or ClaimIn(), request.user))

    @get("/{task_id:int}", opt=PICKERS, operation_id="getPickTask")
    async def get_task(self, task_id: FromPath[int], db: Db) -> PickTaskOut:
        """One pick task."""
        return await picking.task_by_id(db, task_id)

    @post("/{task_id:int}/short", opt=PICKERS, status_code=200, operation_id="shortPick")
    async def short(
        self,
        task_id: FromPath[int],
        data: JSONBody[ShortIn],
        request: Request[Actor, Any, Any],
        db: Db,
    ) -> Response[PickTaskOut]:
        """Record the task's unpicked units as short (with a reason) and release their
        allocation. Retrying with the same `idempotencyKey` returns the first result."""
        return replayed_response(await picking.short_task(db, task_id, data, request.user))
