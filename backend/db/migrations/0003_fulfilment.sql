-- Fulfilment: channels and customers with their lot rules, orders, waves, pick tasks, and the
-- order line every pick, pack and ship movement belongs to (DESIGN.md rule 1).

-- A picker's tote (cart) is a location: stock on its way from a bin to the pack bench.
ALTER TABLE location DROP CONSTRAINT location_kind_check;
ALTER TABLE location ADD CONSTRAINT location_kind_check
    CHECK (kind IN ('bin', 'staging', 'pack_station', 'quarantine', 'customer', 'supplier',
                    'disposal', 'tote'));

-- Whether a picker may take another lot than the one allocated, when it is equally eligible.
ALTER TABLE warehouse ADD COLUMN allow_lot_substitution boolean NOT NULL DEFAULT true;

CREATE TABLE channel (
    id                   bigserial PRIMARY KEY,
    code                 text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$'),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind                 text NOT NULL CHECK (kind IN ('own_shop', 'marketplace', 'wholesale',
                                                       'retail', 'other')),
    min_shelf_life_days  integer NOT NULL DEFAULT 0 CHECK (min_shelf_life_days BETWEEN 0 AND 3650),
    allow_split          boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now()
);

-- A customer's own rules override the channel's; NULL means "as the channel".
CREATE TABLE customer (
    id                   bigserial PRIMARY KEY,
    channel_id           bigint NOT NULL REFERENCES channel (id),
    ref                  text NOT NULL CHECK (length(ref) BETWEEN 1 AND 100),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email                text CHECK (length(email) BETWEEN 3 AND 254),
    country              text CHECK (country ~ '^[A-Z]{2}$'),
    min_shelf_life_days  integer CHECK (min_shelf_life_days BETWEEN 0 AND 3650),
    allow_split          boolean,
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel_id, ref)
);

-- Countries a lot may not ship to (registration, labelling, a regulator's ban).
CREATE TABLE lot_barred_country (
    id          bigserial PRIMARY KEY,
    lot_id      bigint NOT NULL REFERENCES lot (id),
    country     text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    reason      text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    created_by  bigint REFERENCES app_user (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (lot_id, country)
);

CREATE TABLE wave (
    id            bigserial PRIMARY KEY,
    warehouse_id  bigint NOT NULL REFERENCES warehouse (id),
    created_by    bigint REFERENCES app_user (id),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sales_order (
    id            bigserial PRIMARY KEY,
    warehouse_id  bigint NOT NULL REFERENCES warehouse (id),
    channel_id    bigint NOT NULL REFERENCES channel (id),
    external_id   text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 100),
    customer_id   bigint NOT NULL REFERENCES customer (id),
    -- Where it ships to: lots barred from this country are not allocated to it.
    country       text CHECK (country ~ '^[A-Z]{2}$'),
    ship_date     date NOT NULL,
    status        text NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'allocated', 'picking', 'picked', 'packed',
                                    'shipped')),
    wave_id       bigint REFERENCES wave (id),
    -- Where its units are packed, set by the first pack scan; shipping takes them from there.
    pack_station_id bigint REFERENCES location (id),
    picker_id     bigint REFERENCES app_user (id),
    created_by    bigint REFERENCES app_user (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    shipped_at    timestamptz,
    UNIQUE (channel_id, external_id),
    CHECK ((status = 'open') = (wave_id IS NULL)),
    CHECK ((status = 'shipped') = (shipped_at IS NOT NULL))
);
CREATE INDEX sales_order_status_idx ON sales_order (status, id);

CREATE TABLE order_line (
    id            bigserial PRIMARY KEY,
    order_id      bigint NOT NULL REFERENCES sales_order (id),
    line_no       integer NOT NULL CHECK (line_no > 0),
    product_id    bigint NOT NULL REFERENCES product (id),
    quantity      bigint NOT NULL CHECK (quantity > 0),
    -- Units the wave could not allocate, and why (allocation's ShortReason).
    unallocated   bigint NOT NULL DEFAULT 0 CHECK (unallocated >= 0 AND unallocated <= quantity),
    short_reason  text,
    UNIQUE (order_id, line_no)
);
CREATE INDEX order_line_product_idx ON order_line (product_id);

-- One lot in one bin for one order line: the allocation, and the work of picking it.
-- Its counters only grow along the flow: picked + short never exceed the allocation,
-- packed never exceeds picked, shipped never exceeds packed.
--
-- The wave, order, line, lot, bin and picker ids are plain columns, not foreign keys: a
-- wave writes thousands of tasks in one statement from rows it has just read and locked
-- (orders FOR UPDATE, balances by their conditional update), and lotline deletes none of
-- those rows. Measured on a 10,000-line wave: the six key checks took 75% of the insert
-- (about 230 of 300 ms), a third of the whole wave. tests/integration/test_fulfilment.py
-- checks that every task's references exist.
CREATE TABLE pick_task (
    id              bigserial PRIMARY KEY,
    wave_id         bigint NOT NULL,
    order_id        bigint NOT NULL,
    order_line_id   bigint NOT NULL,
    lot_id          bigint NOT NULL,
    location_id     bigint NOT NULL,
    walk_sequence   integer NOT NULL,
    quantity        bigint NOT NULL CHECK (quantity > 0),
    picked          bigint NOT NULL DEFAULT 0 CHECK (picked >= 0),
    short           bigint NOT NULL DEFAULT 0 CHECK (short >= 0),
    packed          bigint NOT NULL DEFAULT 0 CHECK (packed >= 0),
    shipped         bigint NOT NULL DEFAULT 0 CHECK (shipped >= 0),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    assignee_id     bigint,
    tote_id         bigint REFERENCES location (id),
    bin_confirmed_at timestamptz,
    short_reason    text CHECK (short_reason IN ('not_found', 'damaged', 'short_in_bin', 'other',
                                                 'held')),
    substituted_from bigint REFERENCES pick_task (id),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (picked + short <= quantity),
    CHECK (packed <= picked),
    CHECK (shipped <= packed),
    CHECK ((status = 'done') = (picked + short = quantity))
);
CREATE INDEX pick_task_assignee_idx ON pick_task (assignee_id, walk_sequence) WHERE status = 'open';
CREATE INDEX pick_task_order_idx ON pick_task (order_id);
CREATE INDEX pick_task_line_idx ON pick_task (order_line_id);

ALTER TABLE movement ADD COLUMN order_line_id bigint REFERENCES order_line (id);
CREATE INDEX movement_order_line_idx ON movement (order_line_id) WHERE order_line_id IS NOT NULL;
