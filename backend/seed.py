"""The demo warehouse behind `lotline serve --demo` and `lotline seed --demo`.

Everything is written through the same service functions as the API (users, catalogue,
receipts, moves, adjustments, orders, a wave), so the ledger, balances, serials, allocations
and idempotency records are real. The data is deterministic (a seeded random generator)
and its dates are relative to today: some lots have expired, several expire within 30 days,
the rest months out.

Seeding is one transaction under an advisory lock: a database gets the whole demo or none
of it, and a database that already has the demo (its `admin` user) is left untouched.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

import asyncpg

from backend.auth.schemas import Actor
from backend.auth.service import ROLES, create_user
from backend.catalog.schemas import (
    LocationIn,
    LocationKind,
    ProductIn,
    SupplierIn,
    Tracking,
    WarehouseIn,
)
from backend.catalog.service import (
    create_location,
    create_product,
    create_supplier,
    create_warehouse,
)
from backend.counts.schemas import CountIn, CountRule
from backend.counts.service import create_count
from backend.db.engine import init_connection
from backend.db.reference_cache import ReferenceCache
from backend.domain.check_digits import gs1_check_digit
from backend.fulfilment.orders import create_channel, create_order
from backend.fulfilment.packing import pack_scan, ship_order
from backend.fulfilment.picking import Scanned, pick_scan
from backend.fulfilment.schemas import (
    ChannelIn,
    CustomerRef,
    OrderIn,
    OrderLineIn,
    ShipIn,
    WaveIn,
)
from backend.fulfilment.waves import create_wave
from backend.ledger.idempotency import Outcome
from backend.ledger.schemas import AdjustmentIn, MoveIn
from backend.ledger.service import adjust, move
from backend.receiving.schemas import ReceiptIn, ReceiptOut
from backend.receiving.service import receive

__all__ = ["DEMO_PASSWORD", "DEMO_PIN", "demo_badge", "seed_demo"]

DEMO_PASSWORD = "demo"
DEMO_PIN = "1234"
_SEED_LOCK = 7_402_114
"""Advisory lock so two processes seeding the same database do it once."""
_KEY_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://lotline.invalid/demo-seed")


def demo_badge(role: str) -> str:
    """The badge barcode of the demo user for `role`."""
    return f"BADGE-{role.upper()}"


def _gtin(body: str) -> str:
    """A GTIN from its digits without the check digit (11 → UPC-A, 12 → GTIN-13, 13 → -14)."""
    return body + str(gs1_check_digit(body))


def _case_gtin(item_body: str) -> str:
    """The GTIN-14 of a case (indicator digit 1) holding the GTIN-13 item `item_body`."""
    return _gtin("1" + item_body)


def _gln(body: str) -> str:
    return _gtin(body)


# --- sites ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Aisle:
    letter: str
    zone: str
    bays: int
    levels: int = 2


@dataclass(frozen=True)
class _Site:
    code: str
    name: str
    aisles: tuple[_Aisle, ...]
    category_aisle: dict[str, str]


_SITES = (
    _Site(
        "MAIN",
        "Main fulfilment centre",
        (
            _Aisle("A", "AMBIENT", 4),
            _Aisle("B", "HEALTH", 4),
            _Aisle("C", "BEAUTY", 4),
            _Aisle("D", "SECURE", 4),
            _Aisle("E", "APPAREL", 4),
        ),
        {"food": "A", "supplements": "B", "cosmetics": "C", "electronics": "D", "apparel": "E"},
    ),
    _Site(
        "EAST",
        "East overflow",
        (_Aisle("A", "BULK-A", 5), _Aisle("B", "BULK-B", 5)),
        {"food": "A", "supplements": "A", "cosmetics": "B", "electronics": "B", "apparel": "B"},
    ),
)

_SPECIAL_LOCATIONS: tuple[tuple[str, LocationKind, str | None, int], ...] = (
    # code, kind, zone, walk_sequence
    ("RECV", "staging", "DOCK", 0),
    ("PACK-1", "pack_station", "PACK", 900),
    ("PACK-2", "pack_station", "PACK", 910),
    ("QUARANTINE", "quarantine", "QA", 950),
    ("DISPOSAL", "disposal", "QA", 960),
    ("CUSTOMER", "customer", None, 0),
)


def _bins(site: _Site) -> list[tuple[str, str, int]]:
    """(code, zone, walk_sequence) of every bin, in a serpentine walk through the aisles."""
    result: list[tuple[str, str, int]] = []
    step = 10
    for index, aisle in enumerate(site.aisles):
        bays = range(1, aisle.bays + 1)
        for bay in bays if index % 2 == 0 else reversed(bays):
            for level in range(1, aisle.levels + 1):
                result.append((f"{aisle.letter}-{bay:02d}-{level:02d}", aisle.zone, step))
                step += 10
    return result


# --- suppliers and products ------------------------------------------------------------

_SUPPLIERS = (
    ("NORDMILL", "Nordmill Grain & Cereals AB", _gln("950600000010")),
    ("MEDFOODS", "Mediterranean Fine Foods S.L.", _gln("950110100027")),
    ("ROASTCO", "Highland Coffee Roasters Ltd", _gln("950600000034")),
    ("VITALAB", "VitaLab Nutrition GmbH", _gln("401234500041")),
    ("LUMIERE", "Lumière Cosmétiques SAS", _gln("950110100058")),
    ("VOLTEK", "Voltek Electronics Co., Ltd.", _gln("061414100065")),
    ("THREADCO", "Threadworks Apparel Ltd", None),
)


@dataclass(frozen=True)
class _Product:
    sku: str
    name: str
    category: str
    tracking: Tracking
    supplier: str
    gtin_body: str
    shelf_life_days: int | None = None
    template: str | None = None
    case_pack: bool = False
    serial_prefix: str = ""

    @property
    def gtins(self) -> list[str]:
        gtins = [_gtin(self.gtin_body)]
        if self.case_pack:
            gtins.append(_case_gtin(self.gtin_body))
        return gtins


_DATED_BY_SUPPLIER = "{YY}{MM}{DD}-{SUPPLIER}-{SEQ:3}"
_BY_SKU = "{SKU}-{SEQ:4}"

_PRODUCTS = (
    # food: lots with a shelf life
    _Product(
        "FD-OAT-500",
        "Organic rolled oats, 500 g",
        "food",
        "lot",
        "NORDMILL",
        "950600010012",
        365,
        _DATED_BY_SUPPLIER,
        case_pack=True,
    ),
    _Product(
        "FD-GRAN-400",
        "Almond & honey granola, 400 g",
        "food",
        "lot",
        "NORDMILL",
        "950600010029",
        180,
        _DATED_BY_SUPPLIER,
    ),
    _Product(
        "FD-PASTA-500",
        "Durum wheat spaghetti, 500 g",
        "food",
        "lot",
        "NORDMILL",
        "950600010036",
        720,
        case_pack=True,
    ),
    _Product(
        "FD-HONEY-250",
        "Wildflower honey, 250 g jar",
        "food",
        "lot",
        "MEDFOODS",
        "950110120014",
        730,
    ),
    _Product(
        "FD-OLIVE-750",
        "Extra virgin olive oil, 750 ml",
        "food",
        "lot",
        "MEDFOODS",
        "950110120021",
        540,
    ),
    _Product(
        "FD-CHOC-100", "Dark chocolate 70 %, 100 g", "food", "lot", "MEDFOODS", "950110120038", 365
    ),
    _Product(
        "FD-ESPR-1KG",
        "Espresso beans, whole, 1 kg",
        "food",
        "lot",
        "ROASTCO",
        "950600020011",
        270,
    ),
    _Product(
        "FD-DECAF-250",
        "Decaf ground coffee, 250 g",
        "food",
        "lot",
        "ROASTCO",
        "950600020028",
        240,
    ),
    # supplements
    _Product(
        "SU-VITD-60",
        "Vitamin D3 1000 IU, 60 softgels",
        "supplements",
        "lot",
        "VITALAB",
        "401234530011",
        730,
        _BY_SKU,
    ),
    _Product(
        "SU-OMEGA-90",
        "Omega-3 fish oil 1000 mg, 90 capsules",
        "supplements",
        "lot",
        "VITALAB",
        "401234530028",
        540,
        _BY_SKU,
    ),
    _Product(
        "SU-WHEY-1KG",
        "Whey protein, vanilla, 1 kg",
        "supplements",
        "lot",
        "VITALAB",
        "401234530035",
        365,
        case_pack=True,
    ),
    _Product(
        "SU-MAG-120",
        "Magnesium citrate, 120 tablets",
        "supplements",
        "lot",
        "VITALAB",
        "401234530042",
        1095,
    ),
    _Product(
        "SU-PROB-30",
        "Probiotic 10-strain, 30 capsules",
        "supplements",
        "lot",
        "VITALAB",
        "401234530059",
        270,
    ),
    _Product(
        "SU-COLL-300",
        "Collagen peptides, unflavoured, 300 g",
        "supplements",
        "lot",
        "VITALAB",
        "401234530066",
        730,
    ),
    # cosmetics
    _Product(
        "CO-SPF50-50",
        "Sunscreen SPF 50, 50 ml",
        "cosmetics",
        "lot",
        "LUMIERE",
        "950110140012",
        900,
        "L{YY}{MM}-{SEQ:3}",
    ),
    _Product(
        "CO-VITC-30",
        "Vitamin C brightening serum, 30 ml",
        "cosmetics",
        "lot",
        "LUMIERE",
        "950110140029",
        365,
    ),
    _Product(
        "CO-LIPB-5",
        "Shea butter lip balm, 4.8 g",
        "cosmetics",
        "lot",
        "LUMIERE",
        "950110140036",
        1095,
    ),
    _Product(
        "CO-SHAM-250",
        "Argan oil shampoo, 250 ml",
        "cosmetics",
        "lot",
        "LUMIERE",
        "950110140043",
        900,
    ),
    _Product(
        "CO-HAND-75",
        "Repair hand cream, 75 ml",
        "cosmetics",
        "lot",
        "LUMIERE",
        "950110140050",
        730,
    ),
    _Product(
        "CO-MASK-100",
        "Kaolin clay face mask, 100 ml",
        "cosmetics",
        "lot",
        "LUMIERE",
        "950110140067",
        540,
    ),
    # electronics: UPC-A codes, tracked by serial
    _Product(
        "EL-EARB-PRO",
        "Wireless earbuds Pro, noise cancelling",
        "electronics",
        "serial",
        "VOLTEK",
        "61414150011",
        serial_prefix="VEB",
    ),
    _Product(
        "EL-WATCH-44",
        "Smartwatch S2, 44 mm, black",
        "electronics",
        "serial",
        "VOLTEK",
        "61414150028",
        serial_prefix="VSW",
    ),
    _Product(
        "EL-SPKR-MINI",
        "Portable Bluetooth speaker, mini",
        "electronics",
        "serial",
        "VOLTEK",
        "61414150035",
        serial_prefix="VSP",
    ),
    _Product(
        "EL-PWRB-10K",
        "Power bank 10 000 mAh, USB-C",
        "electronics",
        "lot_serial",
        "VOLTEK",
        "61414150042",
        serial_prefix="VPB",
    ),
    _Product(
        "EL-EREAD-6",
        "E-reader 6 in, 16 GB",
        "electronics",
        "lot_serial",
        "VOLTEK",
        "61414150059",
        serial_prefix="VER",
    ),
    # apparel: not tracked by lot
    _Product(
        "AP-TEE-BLK-M",
        "Organic cotton T-shirt, black, M",
        "apparel",
        "none",
        "THREADCO",
        "950600030010",
    ),
    _Product(
        "AP-TEE-WHT-L",
        "Organic cotton T-shirt, white, L",
        "apparel",
        "none",
        "THREADCO",
        "950600030027",
    ),
    _Product(
        "AP-HOOD-GRY-M",
        "Zip hoodie, heather grey, M",
        "apparel",
        "none",
        "THREADCO",
        "950600030034",
    ),
    _Product(
        "AP-SOCK-3PK",
        "Merino hiking socks, 3-pack, 39-42",
        "apparel",
        "none",
        "THREADCO",
        "950600030041",
        case_pack=True,
    ),
    _Product("AP-CAP-NVY", "Baseball cap, navy", "apparel", "none", "THREADCO", "950600030058"),
    _Product(
        "AP-JEAN-3232",
        "Slim jeans, indigo, 32/32",
        "apparel",
        "none",
        "THREADCO",
        "950600030065",
    ),
)


# --- the stock story -------------------------------------------------------------------


@dataclass
class _Placed:
    """Stock the seed put somewhere, so later moves take it from where it really is."""

    product: _Product
    lot_id: int
    lot_code: str
    location: str
    quantity: int
    expiry: date | None
    serials: list[str] = field(default_factory=list)


@dataclass
class _Seeder:
    conn: asyncpg.Connection
    rng: random.Random
    today: date
    actors: dict[str, Actor] = field(default_factory=dict)
    placed: list[_Placed] = field(default_factory=list)
    bin_cursor: dict[tuple[str, str], int] = field(default_factory=dict)
    bins: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    serial_counter: int = 0
    key_counter: int = 0
    po_counter: int = 4100

    def key(self, what: str) -> uuid.UUID:
        self.key_counter += 1
        return uuid.uuid5(_KEY_NAMESPACE, f"{what}/{self.key_counter}")

    def next_bin(self, site: _Site, category: str) -> str:
        """The next bin of the category's aisle at `site`, round robin, as `WH/CODE`."""
        aisle = site.category_aisle[category]
        codes = self.bins[(site.code, aisle)]
        cursor = self.bin_cursor.get((site.code, aisle), 0)
        self.bin_cursor[(site.code, aisle)] = cursor + 1
        return f"{site.code}/{codes[cursor % len(codes)]}"

    def home_bin(self, product: _Product) -> str:
        """The product's own pick face in MAIN: one bin per SKU, in its category's aisle."""
        site = _SITES[0]
        siblings = [p.sku for p in _PRODUCTS if p.category == product.category]
        codes = self.bins[(site.code, site.category_aisle[product.category])]
        return f"{site.code}/{codes[siblings.index(product.sku) % len(codes)]}"

    def spare_bin(self, category: str) -> str:
        """A MAIN bin of the category's aisle that is no product's pick face (reserve stock)."""
        site = _SITES[0]
        aisle = site.category_aisle[category]
        codes = self.bins[(site.code, aisle)]
        spare = codes[sum(p.category == category for p in _PRODUCTS) :] or codes[-1:]
        cursor = self.bin_cursor.get(("spare", aisle), 0)
        self.bin_cursor[("spare", aisle)] = cursor + 1
        return f"{site.code}/{spare[cursor % len(spare)]}"

    def purchase_order(self) -> str:
        self.po_counter += self.rng.randint(1, 7)
        return f"PO-{self.today.year}-{self.po_counter:05d}"

    async def receive(
        self,
        product: _Product,
        location: str,
        quantity: int,
        *,
        lot_code: str | None = None,
        supplier_lot_code: str | None = None,
        expiry: date | None = None,
        production_date: date | None = None,
        by_gtin: bool = False,
        reference: str | None = None,
    ) -> _Placed:
        serials: list[str] = []
        if product.tracking in ("serial", "lot_serial"):
            for _ in range(quantity):
                self.serial_counter += 1
                serials.append(
                    f"{product.serial_prefix}{self.today:%y}{self.serial_counter * 7919:07d}"
                )
        data = ReceiptIn(
            idempotency_key=self.key("receipt"),
            quantity=quantity,
            location=location,
            sku=None if by_gtin else product.sku,
            gtin=product.gtins[0] if by_gtin else None,
            lot_code=lot_code,
            supplier=product.supplier,
            supplier_lot_code=supplier_lot_code,
            expiry=expiry,
            production_date=production_date,
            serials=serials or None,
            reference=reference or self.purchase_order(),
        )
        outcome = await receive(self.conn, data, self.actors["receiver"])
        lot_id, code, lot_expiry = _receipt_lot(outcome)
        placed = _Placed(product, lot_id, code, location, quantity, lot_expiry, serials)
        self.placed.append(placed)
        return placed

    async def move(
        self, placed: _Placed, to: str, quantity: int, reason: str, role: str = "receiver"
    ) -> _Placed:
        serials = placed.serials[:quantity] if placed.serials else None
        await move(
            self.conn,
            MoveIn(
                idempotency_key=self.key("move"),
                lot_id=placed.lot_id,
                from_location=placed.location,
                to_location=to,
                quantity=quantity,
                serials=serials,
                reason=reason,
            ),
            self.actors[role],
        )
        placed.quantity -= quantity
        if serials:
            placed.serials = placed.serials[quantity:]
        moved = _Placed(
            placed.product,
            placed.lot_id,
            placed.lot_code,
            to,
            quantity,
            placed.expiry,
            list(serials or []),
        )
        self.placed.append(moved)
        return moved

    async def adjust(self, placed: _Placed, delta: int, reason: str) -> None:
        await adjust(
            self.conn,
            AdjustmentIn(
                idempotency_key=self.key("adjustment"),
                lot_id=placed.lot_id,
                location=placed.location,
                delta=delta,
                reason=reason,
            ),
            self.actors["counter"],
        )
        placed.quantity += delta


def _receipt_lot(outcome: Outcome) -> tuple[int, str, date | None]:
    """The lot a receipt went into, from a fresh result or a replayed (JSON) one."""
    body = outcome.body
    if isinstance(body, ReceiptOut):
        return body.lot.id, body.lot.code, body.lot.expiry
    lot = body["lot"]
    expiry = lot.get("expiry")
    return int(lot["id"]), str(lot["code"]), date.fromisoformat(expiry) if expiry else None


def _explicit_lot_code(product: _Product, produced: date, index: int) -> str:
    """A printed lot code of the kind each trade uses (all within GS1 AI 10)."""
    letter = chr(ord("A") + index)
    if product.category == "food":
        return f"L{produced:%y}{produced.timetuple().tm_yday:03d}{letter}"  # Julian date code
    if product.category == "supplements":
        return f"B{produced:%y%m}{index + 1:02d}"
    if product.category == "cosmetics":
        return f"C{produced:%y%m%d}{letter}"
    return f"{produced:%Y}W{produced.isocalendar().week:02d}{letter}"


def _expiry_plan(rng: random.Random, index: int, count: int) -> list[int]:
    """Days from today to each lot's expiry, oldest lot first."""
    first = index % 4
    if first == 0:
        offset = -rng.randint(2, 40)  # already expired
    elif first in (1, 2):
        offset = rng.randint(3, 28)  # expiring within 30 days
    else:
        offset = rng.randint(45, 120)
    offsets = [offset]
    for _ in range(count - 1):
        offset = max(offset, 30) + rng.randint(40, 160)
        offsets.append(offset)
    return offsets


async def _receive_dated(seeder: _Seeder, index: int, product: _Product) -> None:
    rng, today = seeder.rng, seeder.today
    shelf_life = product.shelf_life_days or 365
    east = _SITES[1]
    offsets = _expiry_plan(rng, index, rng.randint(2, 4))
    for lot_index, offset in enumerate(offsets):
        produced = today + timedelta(days=offset - shelf_life)
        if produced >= today:
            produced = today - timedelta(days=rng.randint(2, 14))
        expiry = produced + timedelta(days=shelf_life)
        expired = expiry < today
        explicit = product.template is None and rng.random() < 0.8
        lot_code = _explicit_lot_code(product, produced, lot_index) if explicit else None
        supplier_lot = f"{product.supplier[:3]}{produced:%y%m%d}-{rng.randint(1, 99):02d}"
        # Half the receivers key in the expiry; the rest only the production date, and the
        # product's shelf life derives the same expiry.
        give_expiry = rng.random() < 0.6
        step = 6 if product.category == "cosmetics" else 12
        quantity = step * rng.randint(1, 3) if expired else step * rng.randint(3, 16)
        first = await seeder.receive(
            product,
            seeder.home_bin(product),
            quantity,
            lot_code=lot_code,
            supplier_lot_code=supplier_lot,
            expiry=expiry if give_expiry else None,
            production_date=None if give_expiry else produced,
            by_gtin=rng.random() < 0.25,
        )
        if not expired and rng.random() < 0.45:
            # The same delivery split across sites: the second receipt names the lot it made.
            await seeder.receive(
                product,
                seeder.next_bin(east, product.category),
                step * rng.randint(2, 10),
                lot_code=first.lot_code,
                supplier_lot_code=supplier_lot,
                expiry=expiry,
                reference=f"{seeder.purchase_order()} (split)",
            )


async def _receive_serialised(seeder: _Seeder, product: _Product) -> None:
    rng, today = seeder.rng, seeder.today
    east = _SITES[1]
    for lot_index in range(2):
        produced = today - timedelta(days=rng.randint(30, 200))
        lot_code = (
            _explicit_lot_code(product, produced, lot_index)
            if product.tracking == "lot_serial"
            else None
        )
        to_east = lot_index == 1 and rng.random() < 0.5
        await seeder.receive(
            product,
            seeder.next_bin(east, product.category) if to_east else seeder.home_bin(product),
            rng.randint(4, 12),
            lot_code=lot_code,
            supplier_lot_code=f"VT-{produced:%y%m}-{rng.randint(100, 999)}",
            production_date=produced if product.tracking == "lot_serial" else None,
        )


async def _receive_untracked(seeder: _Seeder, product: _Product) -> None:
    rng = seeder.rng
    east = _SITES[1]
    await seeder.receive(product, seeder.home_bin(product), 10 * rng.randint(3, 12))
    await seeder.receive(product, seeder.spare_bin("apparel"), 10 * rng.randint(1, 4))
    if rng.random() < 0.6:
        await seeder.receive(product, seeder.next_bin(east, "apparel"), 10 * rng.randint(4, 15))


async def _floor_activity(seeder: _Seeder) -> int:
    """Put-aways, overstock to reserve, a transfer between sites, quarantine, an adjustment."""
    rng, today = seeder.rng, seeder.today
    east = _SITES[1]
    moves = 0
    by_sku = {product.sku: product for product in _PRODUCTS}

    # Today's deliveries at the MAIN dock: two put away, one still waiting on the dock.
    for sku in ("SU-VITD-60", "FD-OAT-500", "CO-HAND-75"):
        product = by_sku[sku]
        produced = today - timedelta(days=rng.randint(5, 20))
        arrived = await seeder.receive(
            product,
            "MAIN/RECV",
            12 * rng.randint(4, 10),
            supplier_lot_code=f"{product.supplier[:3]}{produced:%y%m%d}-{rng.randint(1, 99):02d}",
            production_date=produced,
        )
        if sku != "CO-HAND-75":
            await seeder.move(arrived, seeder.home_bin(product), arrived.quantity, "Put-away")
            moves += 1

    def in_stock(where: str, *, expired: bool | None = None) -> list[_Placed]:
        return [
            p
            for p in seeder.placed
            if p.location.startswith(where)
            and p.quantity >= 12
            and p.product.tracking == "lot"
            and (expired is None or (p.expiry is not None and (p.expiry < today) == expired))
        ]

    # Overstock of a few pick faces goes to reserve bins of the same aisle.
    for where in ("MAIN/B-", "MAIN/C-"):
        fresh = in_stock(where, expired=False)
        source = fresh[rng.randrange(len(fresh))]
        await seeder.move(
            source,
            seeder.spare_bin(source.product.category),
            source.quantity // 2,
            "Overstock to reserve",
        )
        moves += 1

    # Transfer stock of a supplement lot to the overflow site.
    candidates = in_stock("MAIN/B-", expired=False)
    source = candidates[rng.randrange(len(candidates))]
    await seeder.move(
        source,
        seeder.next_bin(east, source.product.category),
        source.quantity // 3,
        "Transfer to East overflow",
        role="supervisor",
    )
    moves += 1

    # An expired lot found in a bin goes to quarantine to await disposal.
    expired = in_stock("MAIN/", expired=True)
    source = expired[rng.randrange(len(expired))]
    await seeder.move(
        source, "MAIN/QUARANTINE", source.quantity, "Expired: awaiting disposal", "supervisor"
    )
    moves += 1

    # A few serialised units go to the reserve cage.
    serialised = [p for p in seeder.placed if p.location.startswith("MAIN/") and len(p.serials) > 3]
    source = serialised[0]
    await seeder.move(source, seeder.spare_bin("electronics"), 2, "Move to reserve cage")
    moves += 1

    # A cycle count finds two damaged units.
    damaged = in_stock("MAIN/C-", expired=False)
    await seeder.adjust(damaged[rng.randrange(len(damaged))], -2, "Damaged: crushed case")
    return moves


_CHANNELS = (
    ChannelIn(code="shop", name="Own web shop", kind="own_shop"),
    ChannelIn(code="amazon", name="Amazon marketplace", kind="marketplace", min_shelf_life_days=90),
    ChannelIn(
        code="wholesale",
        name="Wholesale",
        kind="wholesale",
        min_shelf_life_days=180,
        allow_split=False,
    ),
)
_CUSTOMERS = (
    ("shop", "Ada Lindqvist", "SE"),
    ("amazon", "Bruno Keller", "DE"),
    ("shop", "Chiara Russo", "IT"),
    ("wholesale", "Deli Corner GmbH", "DE"),
    ("amazon", "Eamon Walsh", "IE"),
    ("shop", "Fatima Haddad", "FR"),
)


async def _orders(seeder: _Seeder) -> int:
    """Sales channels with their lot rules, six orders, and a wave of three for the picker."""
    conn, rng, today = seeder.conn, seeder.rng, seeder.today
    for sales_channel in _CHANNELS:
        await create_channel(conn, sales_channel)
    pickable = sorted(
        {
            p.product.sku
            for p in seeder.placed
            if p.location.startswith("MAIN/")
            and p.product.tracking == "lot"
            and p.quantity >= 12
            and p.expiry is not None
            and p.expiry > today + timedelta(days=200)
        }
    )
    supervisor = seeder.actors["supervisor"]
    order_ids = []
    for number, (channel, name, country) in enumerate(_CUSTOMERS, start=1):
        skus = rng.sample(pickable, 2 if number % 2 else 1)
        order = await create_order(
            conn,
            OrderIn(
                channel=channel,
                external_id=f"{channel.upper()}-{1000 + number}",
                customer=CustomerRef(ref=f"C{100 + number}", name=name, country=country),
                lines=[OrderLineIn(sku=sku, quantity=rng.randint(1, 3)) for sku in skus],
                warehouse="MAIN",
            ),
            supervisor.user_id,
        )
        order_ids.append(order.id)
    await create_wave(conn, WaveIn(order_ids=order_ids[:3], pickers=["picker"]), supervisor)
    await _ship(seeder, order_ids[3:5])
    return len(order_ids)


async def _ship(seeder: _Seeder, order_ids: list[int]) -> None:
    """Pick, pack and ship these orders as the floor would (a wave for the picker, a bin
    and a lot scan per task, a pack scan per lot, the shipment), so that the returns clerk
    has shipped orders to take items back from."""
    conn = seeder.conn
    picker, packer = seeder.actors["picker"], seeder.actors["packer"]
    await create_wave(
        conn, WaveIn(order_ids=order_ids, pickers=["picker"]), seeder.actors["supervisor"]
    )
    tasks = await conn.fetch(
        """SELECT t.id, t.order_id, t.lot_id, t.location_id, t.quantity, l.product_id,
                  p.tracking
             FROM pick_task t JOIN lot l ON l.id = t.lot_id JOIN product p ON p.id = l.product_id
            WHERE t.order_id = ANY($1::bigint[]) ORDER BY t.id""",
        order_ids,
    )
    for task in tasks:
        lot = Scanned(
            product_id=task["product_id"], tracking=task["tracking"], lot_id=task["lot_id"]
        )
        async with conn.transaction():
            await pick_scan(
                conn, task["id"], Scanned(location_id=task["location_id"]), None, picker
            )
            picked = await pick_scan(conn, task["id"], lot, task["quantity"], picker)
        async with conn.transaction():
            packed = await pack_scan(conn, task["order_id"], lot, task["quantity"], None, packer)
        if (picked.code, packed.code) != ("picked", "packed"):
            raise RuntimeError(f"demo task {task['id']}: {picked.message} / {packed.message}")
    for order_id in order_ids:
        await ship_order(
            conn, order_id, ShipIn(idempotency_key=seeder.key(f"ship {order_id}")), packer
        )


async def _counts(seeder: _Seeder) -> None:
    """A blind count of MAIN's bins that hold lots expiring within 60 days, for the counter."""
    await create_count(
        seeder.conn,
        CountIn(
            warehouse="MAIN",
            rule=CountRule(expiring_within_days=60),
            note="Short-dated lots: count before the weekend",
        ),
        seeder.actors["supervisor"],
    )


async def _create_sites(conn: asyncpg.Connection, seeder: _Seeder) -> None:
    for site in _SITES:
        await create_warehouse(conn, WarehouseIn(code=site.code, name=site.name))
        for code, kind, zone, sequence in _SPECIAL_LOCATIONS:
            if code == "RECV":
                await _location(conn, site.code, code, kind, zone, sequence)
        for code, zone, sequence in _bins(site):
            await _location(conn, site.code, code, "bin", zone, sequence)
            seeder.bins.setdefault((site.code, code[0]), []).append(code)
        for code, kind, zone, sequence in _SPECIAL_LOCATIONS:
            if code != "RECV":
                await _location(conn, site.code, code, kind, zone, sequence)


async def _location(
    conn: asyncpg.Connection,
    warehouse: str,
    code: str,
    kind: LocationKind,
    zone: str | None,
    seq: int,
) -> None:
    await create_location(
        conn,
        LocationIn(
            warehouse=warehouse,
            code=code,
            kind=kind,
            zone=zone,
            walk_sequence=seq,
        ),
    )


async def _create_users(conn: asyncpg.Connection) -> dict[str, Actor]:
    actors: dict[str, Actor] = {}
    for role in ROLES:
        user_id = await create_user(
            conn,
            role,
            DEMO_PASSWORD,
            [role],
            display_name=f"Demo {role}",
            badge=demo_badge(role),
            pin=DEMO_PIN,
        )
        actors[role] = Actor(user_id=user_id, username=role, roles=frozenset({role}), token_id=0)
    return actors


async def _summary(conn: asyncpg.Connection) -> str:
    row = await conn.fetchrow(
        """SELECT (SELECT count(*) FROM app_user) AS users,
                  (SELECT count(*) FROM warehouse) AS warehouses,
                  (SELECT count(*) FROM location) AS locations,
                  (SELECT count(*) FROM supplier) AS suppliers,
                  (SELECT count(*) FROM product) AS products,
                  (SELECT count(*) FROM lot) AS lots,
                  (SELECT count(*) FROM lot WHERE expiry_date < current_date) AS expired,
                  (SELECT count(*) FROM lot WHERE expiry_date >= current_date
                                              AND expiry_date < current_date + 30) AS expiring,
                  (SELECT count(*) FROM serial) AS serials,
                  (SELECT count(*) FROM movement) AS movements,
                  (SELECT count(*) FROM sales_order) AS orders,
                  (SELECT count(*) FROM pick_task) AS tasks,
                  (SELECT count(*) FROM count_task) AS count_tasks,
                  (SELECT coalesce(sum(b.quantity), 0) FROM stock_balance b
                     JOIN location l ON l.id = b.location_id
                    WHERE l.kind <> 'customer') AS units"""
    )
    return (
        f"demo seeded: {row['users']} users, {row['warehouses']} warehouses, "
        f"{row['locations']} locations, {row['suppliers']} suppliers, "
        f"{row['products']} products, {row['lots']} lots ({row['expired']} expired, "
        f"{row['expiring']} expiring within 30 days), {row['serials']} serials, "
        f"{row['movements']} movements, {row['units']} units on hand, "
        f"{row['orders']} orders ({row['tasks']} pick tasks for the picker), "
        f"{row['count_tasks']} bins to count"
    )


async def seed_demo(database_url: str) -> None:
    """Fill a migrated database with the demo warehouse; do nothing if it is already there."""
    # The seed resolves locations through the process's caches, which may hold another
    # database's rows (a test process seeds several databases).
    ReferenceCache.forget_all()
    conn = await asyncpg.connect(database_url)
    try:
        await init_connection(conn)
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _SEED_LOCK)
            if await conn.fetchval("SELECT 1 FROM app_user WHERE username = 'admin'"):
                print("demo data already present; nothing seeded")
                return
            seeder = _Seeder(conn=conn, rng=random.Random(2026), today=date.today())
            seeder.actors = await _create_users(conn)
            await _create_sites(conn, seeder)
            for code, name, gln in _SUPPLIERS:
                await create_supplier(conn, SupplierIn(code=code, name=name, gln=gln))
            for product in _PRODUCTS:
                await create_product(
                    conn,
                    ProductIn(
                        sku=product.sku,
                        name=product.name,
                        tracking=product.tracking,
                        gtins=product.gtins,
                        category=product.category,
                        shelf_life_days=product.shelf_life_days,
                        lot_code_template=product.template,
                    ),
                )
            dated = [p for p in _PRODUCTS if p.shelf_life_days is not None]
            for index, product in enumerate(dated):
                await _receive_dated(seeder, index, product)
            for product in _PRODUCTS:
                if product.tracking in ("serial", "lot_serial"):
                    await _receive_serialised(seeder, product)
                elif product.tracking == "none":
                    await _receive_untracked(seeder, product)
            await _floor_activity(seeder)
            await _orders(seeder)
            await _counts(seeder)
            summary = await _summary(conn)
        print(summary)
    finally:
        await conn.close()
