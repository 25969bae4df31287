-- Returns (RMAs) of shipped orders, the items scanned into them, and the alerts raised when a
-- lot's return rate passes the threshold. The stock itself moves in the ledger (movements of
-- kind `return`, from the customer's location, naming the order line); these tables keep
-- what the ledger cannot: the return a unit came back under, why, what the clerk chose, and
-- the items refused because they did not ship on the order (flagged, nothing moved).

CREATE TABLE customer_return (
    id          bigserial PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES sales_order (id),
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    note        text CHECK (length(note) BETWEEN 1 AND 500),
    opened_by   bigint NOT NULL REFERENCES app_user (id),
    opened_at   timestamptz NOT NULL DEFAULT now(),
    closed_by   bigint REFERENCES app_user (id),
    closed_at   timestamptz,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CHECK ((closed_at IS NULL) = (closed_by IS NULL))
);
-- One open return per order: a second open finds the first.
CREATE UNIQUE INDEX customer_return_open_order_idx ON customer_return (order_id)
    WHERE status = 'open';
CREATE INDEX customer_return_order_idx ON customer_return (order_id);
CREATE INDEX customer_return_status_idx ON customer_return (status, id);

CREATE TABLE return_item (
    id              bigserial PRIMARY KEY,
    return_id       bigint NOT NULL REFERENCES customer_return (id),
    product_id      bigint NOT NULL REFERENCES product (id),
    -- Null only for a flagged unit of an untracked product that is not on the order.
    lot_id          bigint REFERENCES lot (id),
    serial          text CHECK (length(serial) BETWEEN 1 AND 20),
    quantity        bigint NOT NULL CHECK (quantity > 0),
    reason          text CHECK (length(reason) BETWEEN 1 AND 200),
    -- What the clerk chose; `destination_id` is where the unit went (quarantine when the
    -- lot was held or expired, whatever was chosen: then `forced`).
    disposition     text CHECK (disposition IN ('restock', 'quarantine', 'dispose')),
    order_line_id   bigint REFERENCES order_line (id),
    movement_id     bigint REFERENCES movement (id),
    destination_id  bigint REFERENCES location (id),
    forced          boolean NOT NULL DEFAULT false,
    -- Why the item was refused and kept for a supervisor: it did not ship on the order.
    flag            text CHECK (flag IN ('not_shipped_on_order', 'serial_not_shipped_on_order',
                                         'return_exceeds_shipped')),
    message         text NOT NULL CHECK (length(message) BETWEEN 1 AND 500),
    user_id         bigint NOT NULL REFERENCES app_user (id),
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    CHECK ((flag IS NULL) = (movement_id IS NOT NULL)),
    CHECK (flag IS NOT NULL OR (lot_id IS NOT NULL AND reason IS NOT NULL
                                AND disposition IS NOT NULL AND order_line_id IS NOT NULL
                                AND destination_id IS NOT NULL)),
    CHECK (flag IS NULL OR (destination_id IS NULL AND NOT forced))
);
CREATE INDEX return_item_return_idx ON return_item (return_id, id);

-- A lot whose returns passed the rate threshold; one undismissed alert per lot at a time.
CREATE TABLE return_alert (
    id             bigserial PRIMARY KEY,
    lot_id         bigint NOT NULL REFERENCES lot (id),
    return_id      bigint NOT NULL REFERENCES customer_return (id),
    returned       bigint NOT NULL CHECK (returned > 0),
    shipped        bigint NOT NULL CHECK (shipped > 0),
    threshold      double precision NOT NULL CHECK (threshold >= 0 AND threshold <= 1),
    created_at     timestamptz NOT NULL DEFAULT now(),
    dismissed_by   bigint REFERENCES app_user (id),
    dismissed_at   timestamptz,
    dismiss_note   text CHECK (length(dismiss_note) BETWEEN 1 AND 500),
    CHECK ((dismissed_at IS NULL) = (dismissed_by IS NULL))
);
CREATE UNIQUE INDEX return_alert_open_lot_idx ON return_alert (lot_id) WHERE dismissed_at IS NULL;
CREATE INDEX return_alert_lot_idx ON return_alert (lot_id, id);
