-- Holds and recalls with their history, and the live channel's durable outbox (DESIGN.md
-- rule 5): a state change writes its messages here, numbered per warehouse, in its own
-- transaction; NOTIFY only wakes the workers, which read what is new from this table.

CREATE TABLE hold (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('hold', 'quarantine', 'recall')),
    reason          text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    -- How the lots were chosen: {"lots": [...]}, {"sku", "producedFrom", "producedTo"} or
    -- {"supplierLotCode"}.
    selector        jsonb NOT NULL,
    placed_by       bigint NOT NULL REFERENCES app_user (id),
    placed_at       timestamptz NOT NULL DEFAULT now(),
    released_by     bigint REFERENCES app_user (id),
    released_at     timestamptz,
    release_reason  text CHECK (length(release_reason) BETWEEN 1 AND 500),
    CHECK ((released_at IS NULL) = (released_by IS NULL)),
    CHECK ((released_at IS NULL) = (release_reason IS NULL))
);
CREATE INDEX hold_active_idx ON hold (id) WHERE released_at IS NULL;

CREATE TABLE hold_lot (
    id               bigserial PRIMARY KEY,
    hold_id          bigint NOT NULL REFERENCES hold (id),
    lot_id           bigint NOT NULL REFERENCES lot (id),
    status_before    text NOT NULL,
    UNIQUE (hold_id, lot_id)
);
CREATE INDEX hold_lot_lot_idx ON hold_lot (lot_id);

-- The last sequence number given per warehouse: taking the next one locks this row until
-- the transaction ends, so messages commit in sequence order and no number is skipped.
CREATE TABLE live_sequence (
    warehouse_id  bigint PRIMARY KEY REFERENCES warehouse (id),
    last_seq      bigint NOT NULL CHECK (last_seq > 0)
);

CREATE TABLE live_message (
    id            bigserial PRIMARY KEY,
    warehouse_id  bigint NOT NULL REFERENCES warehouse (id),
    seq           bigint NOT NULL CHECK (seq > 0),
    type          text NOT NULL CHECK (type ~ '^[a-z]+\.[a-z_]+$'),
    data          jsonb NOT NULL,
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (warehouse_id, seq)
);

-- What each handheld has acknowledged, per warehouse: who has not seen the hold yet.
CREATE TABLE live_ack (
    id            bigserial PRIMARY KEY,
    device_key    text NOT NULL CHECK (length(device_key) BETWEEN 1 AND 100),
    warehouse_id  bigint NOT NULL REFERENCES warehouse (id),
    user_id       bigint NOT NULL REFERENCES app_user (id),
    seq           bigint NOT NULL,
    acked_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (device_key, warehouse_id)
);

-- Held stock pulled into quarantine by scanning it (context `quarantine`).
ALTER TABLE scan DROP CONSTRAINT scan_context_check;
ALTER TABLE scan ADD CONSTRAINT scan_context_check
    CHECK (context IN ('receive', 'pick', 'pack', 'return', 'count', 'lookup', 'quarantine'));

-- The tasks a hold moves or lists (open, or picked and not shipped) among all a lot ever
-- had: a few rows of a small index instead of every task of a bestseller lot.
CREATE INDEX pick_task_unfinished_lot_idx ON pick_task (lot_id)
    WHERE status = 'open' OR picked > shipped;
