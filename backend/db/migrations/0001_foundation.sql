-- lotline foundation schema: sites, catalogue, lots, the movement ledger, balances, auth.
-- Every rule the database can hold is a constraint here, so no code path can break it.

CREATE TABLE warehouse (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone    text NOT NULL DEFAULT 'UTC',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE location (
    id            bigserial PRIMARY KEY,
    warehouse_id  bigint NOT NULL REFERENCES warehouse (id),
    code          text NOT NULL CHECK (code ~ '^[A-Z0-9][A-Z0-9_.-]{0,63}$'),
    barcode       text NOT NULL UNIQUE CHECK (length(barcode) BETWEEN 1 AND 80),
    kind          text NOT NULL CHECK (kind IN ('bin', 'staging', 'pack_station', 'quarantine',
                                                'customer', 'supplier', 'disposal')),
    zone          text,
    walk_sequence integer NOT NULL DEFAULT 0,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (warehouse_id, code)
);
CREATE INDEX location_code_idx ON location (code);

CREATE TABLE supplier (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]{0,31}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    gln         text CHECK (gln ~ '^[0-9]{13}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE product (
    id                 bigserial PRIMARY KEY,
    sku                text NOT NULL UNIQUE CHECK (sku ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    category           text,
    tracking           text NOT NULL CHECK (tracking IN ('none', 'lot', 'serial', 'lot_serial')),
    shelf_life_days    integer CHECK (shelf_life_days > 0),
    lot_code_template  text CHECK (length(lot_code_template) BETWEEN 1 AND 100),
    lot_sequence       bigint NOT NULL DEFAULT 0 CHECK (lot_sequence >= 0),
    unit               text NOT NULL DEFAULT 'unit',
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE product_gtin (
    gtin        text PRIMARY KEY CHECK (gtin ~ '^[0-9]{14}$'),
    product_id  bigint NOT NULL REFERENCES product (id)
);
CREATE INDEX product_gtin_product_idx ON product_gtin (product_id);

CREATE TABLE app_user (
    id            bigserial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9_.-]{0,63}$'),
    display_name  text NOT NULL,
    password_hash text NOT NULL,
    badge         text UNIQUE CHECK (length(badge) BETWEEN 4 AND 80),
    pin_hash      text,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((badge IS NULL) = (pin_hash IS NULL))
);

CREATE TABLE role (
    name        text PRIMARY KEY,
    description text NOT NULL
);
INSERT INTO role (name, description) VALUES
    ('admin', 'Manages users, devices and every setting'),
    ('supervisor', 'Places holds and recalls, approves counts, manages the floor'),
    ('receiver', 'Receives goods into lots and puts them away'),
    ('picker', 'Picks orders by lot'),
    ('packer', 'Packs orders, confirming each lot'),
    ('counter', 'Counts stock by lot'),
    ('returns', 'Takes returns back into their lot or quarantine');

CREATE TABLE user_role (
    id       bigserial PRIMARY KEY,
    user_id  bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    role     text NOT NULL REFERENCES role (name),
    UNIQUE (user_id, role)
);

CREATE TABLE device (
    id             bigserial PRIMARY KEY,
    device_key     text NOT NULL UNIQUE CHECK (length(device_key) BETWEEN 1 AND 100),
    name           text NOT NULL DEFAULT '',
    last_user_id   bigint REFERENCES app_user (id),
    last_seen_at   timestamptz,
    revoked_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth_token (
    id          bigserial PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,
    user_id     bigint NOT NULL REFERENCES app_user (id),
    device_id   bigint REFERENCES device (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    CHECK (expires_at > created_at)
);
CREATE INDEX auth_token_device_idx ON auth_token (device_id) WHERE revoked_at IS NULL;

CREATE TABLE lot (
    id                 bigserial PRIMARY KEY,
    product_id         bigint NOT NULL REFERENCES product (id),
    code               text NOT NULL CHECK (length(code) BETWEEN 1 AND 20),
    supplier_id        bigint REFERENCES supplier (id),
    supplier_lot_code  text CHECK (length(supplier_lot_code) BETWEEN 1 AND 80),
    production_date    date,
    expiry_date        date,
    best_before_date   date,
    status             text NOT NULL DEFAULT 'released'
                       CHECK (status IN ('released', 'hold', 'quarantine', 'recalled')),
    status_reason      text,
    status_by          bigint REFERENCES app_user (id),
    status_at          timestamptz NOT NULL DEFAULT now(),
    received_at        timestamptz NOT NULL DEFAULT now(),
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, code),
    CHECK (expiry_date IS NULL OR production_date IS NULL OR expiry_date >= production_date),
    CHECK (status = 'released' OR status_reason IS NOT NULL)
);
CREATE INDEX lot_code_idx ON lot (code);
CREATE INDEX lot_supplier_lot_idx ON lot (supplier_lot_code) WHERE supplier_lot_code IS NOT NULL;
CREATE INDEX lot_expiry_idx ON lot (expiry_date) WHERE expiry_date IS NOT NULL;

CREATE TABLE serial (
    id           bigserial PRIMARY KEY,
    product_id   bigint NOT NULL REFERENCES product (id),
    lot_id       bigint NOT NULL REFERENCES lot (id),
    serial       text NOT NULL CHECK (length(serial) BETWEEN 1 AND 20),
    location_id  bigint REFERENCES location (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, serial)
);
CREATE INDEX serial_lot_idx ON serial (lot_id);

-- The ledger: append-only. A NULL end means stock entering (receipt, count gain) or leaving
-- (write-off) the books; shipping moves stock to a customer location instead.
CREATE TABLE movement (
    id                bigserial PRIMARY KEY,
    kind              text NOT NULL CHECK (kind IN ('receipt', 'move', 'adjustment', 'pick', 'pack',
                                                    'ship', 'return', 'count', 'dispose')),
    lot_id            bigint NOT NULL REFERENCES lot (id),
    from_location_id  bigint REFERENCES location (id),
    to_location_id    bigint REFERENCES location (id),
    quantity          bigint NOT NULL CHECK (quantity > 0),
    reason            text,
    reference         text,
    user_id           bigint REFERENCES app_user (id),
    device_id         bigint REFERENCES device (id),
    idempotency_key   uuid,
    created_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK (from_location_id IS NOT NULL OR to_location_id IS NOT NULL),
    CHECK (from_location_id IS DISTINCT FROM to_location_id),
    CHECK (kind <> 'adjustment' OR reason IS NOT NULL)
);
CREATE INDEX movement_lot_idx ON movement (lot_id, id);

CREATE FUNCTION movement_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the movement ledger is append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER movement_append_only BEFORE UPDATE OR DELETE ON movement
    FOR EACH ROW EXECUTE FUNCTION movement_is_append_only();

-- The serials a movement carried, one row each.
CREATE TABLE movement_serial (
    id           bigserial PRIMARY KEY,
    movement_id  bigint NOT NULL REFERENCES movement (id),
    serial_id    bigint NOT NULL REFERENCES serial (id),
    UNIQUE (movement_id, serial_id)
);
CREATE INDEX movement_serial_serial_idx ON movement_serial (serial_id);

-- Balances per (lot, location), written in the same transaction as the movement.
CREATE TABLE stock_balance (
    id           bigserial PRIMARY KEY,
    lot_id       bigint NOT NULL REFERENCES lot (id),
    location_id  bigint NOT NULL REFERENCES location (id),
    quantity     bigint NOT NULL CHECK (quantity >= 0),
    allocated    bigint NOT NULL DEFAULT 0 CHECK (allocated >= 0 AND allocated <= quantity),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (lot_id, location_id)
);
CREATE INDEX stock_balance_location_idx ON stock_balance (location_id);

-- A write a handheld may retry: its key is stored with its result (a ledger write points at
-- its movement, which never changes), and a retry gets that result again.
CREATE TABLE idempotency_key (
    key           uuid PRIMARY KEY,
    operation     text NOT NULL,
    user_id       bigint NOT NULL REFERENCES app_user (id),
    request_hash  bytea NOT NULL,
    status_code   integer NOT NULL,
    response      jsonb,
    movement_id   bigint REFERENCES movement (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (response IS NOT NULL OR movement_id IS NOT NULL)
);
