-- Blind cycle counts by bin and lot. A count is what a supervisor asked for (its scope);
-- its tasks are one bin each. A task records where the ledger stood when its counter
-- scanned the bin (the bin's balances and the highest movement id), and each lot's line
-- records where it stood when the lot was counted, so the expected quantity is the snapshot
-- rolled forward by the lot's movements in the bin in between: a pick during the count
-- makes no variance. Only a supervisor's approval writes stock (movements of kind `count`).

CREATE TABLE cycle_count (
    id            bigserial PRIMARY KEY,
    warehouse_id  bigint NOT NULL REFERENCES warehouse (id),
    -- How the bins were chosen: {"bins": [...]}, {"sku"}, {"lotId"} or {"rule": {...}}.
    scope         jsonb NOT NULL,
    blind         boolean NOT NULL DEFAULT true,
    note          text CHECK (length(note) BETWEEN 1 AND 500),
    created_by    bigint NOT NULL REFERENCES app_user (id),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE count_task (
    id                 bigserial PRIMARY KEY,
    count_id           bigint NOT NULL REFERENCES cycle_count (id),
    location_id        bigint NOT NULL REFERENCES location (id),
    -- open: not started; counting: its bin was scanned; submitted: waits for a supervisor;
    -- recount_required: a variance passed the threshold, its recount waits to be counted;
    -- recounted: its recount carries the decision; approved or rejected: decided.
    status             text NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'counting', 'submitted', 'recount_required',
                                         'recounted', 'approved', 'rejected')),
    recount_of         bigint REFERENCES count_task (id),
    assignee_id        bigint REFERENCES app_user (id),
    counted_by         bigint REFERENCES app_user (id),
    started_at         timestamptz,
    -- The ledger position at the start: the highest movement id then.
    start_movement_id  bigint,
    submitted_at       timestamptz,
    decided_by         bigint REFERENCES app_user (id),
    decided_at         timestamptz,
    decision_note      text CHECK (length(decision_note) BETWEEN 1 AND 500),
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK ((started_at IS NULL) = (counted_by IS NULL)),
    CHECK ((started_at IS NULL) = (start_movement_id IS NULL)),
    CHECK (status = 'open' OR started_at IS NOT NULL OR status IN ('approved', 'rejected')),
    CHECK (recount_of IS DISTINCT FROM id),
    UNIQUE (recount_of)
);
CREATE INDEX count_task_count_idx ON count_task (count_id);
-- One undecided count of a bin at a time (a recount belongs to its original's): two would
-- adjust the same difference twice.
CREATE UNIQUE INDEX count_task_one_per_bin_idx ON count_task (location_id)
    WHERE recount_of IS NULL AND status NOT IN ('approved', 'rejected');
CREATE INDEX count_task_undecided_idx ON count_task (id)
    WHERE status IN ('open', 'counting');

-- The bin's balances when its counter scanned its label.
CREATE TABLE count_snapshot (
    id        bigserial PRIMARY KEY,
    task_id   bigint NOT NULL REFERENCES count_task (id),
    lot_id    bigint NOT NULL REFERENCES lot (id),
    quantity  bigint NOT NULL CHECK (quantity >= 0),
    UNIQUE (task_id, lot_id)
);

-- What was counted of each lot, and where the ledger stood when it was: `expected` is the
-- snapshot rolled forward to `movement_id`.
CREATE TABLE count_line (
    id           bigserial PRIMARY KEY,
    task_id      bigint NOT NULL REFERENCES count_task (id),
    lot_id       bigint NOT NULL REFERENCES lot (id),
    counted      bigint NOT NULL CHECK (counted >= 0),
    expected     bigint NOT NULL,
    movement_id  bigint NOT NULL,
    serials      text[] NOT NULL DEFAULT '{}',
    -- Not in the snapshot and never moved into the bin during the count: a lot found.
    unexpected   boolean NOT NULL DEFAULT false,
    scanned      boolean NOT NULL DEFAULT true,
    -- The ledger movement (kind `count`) an approval wrote for a variance.
    adjustment_id  bigint REFERENCES movement (id),
    counted_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_id, lot_id)
);
CREATE INDEX count_line_lot_idx ON count_line (lot_id);

-- When a bin was last counted (submitted), for "not counted for N days".
CREATE INDEX count_task_location_submitted_idx ON count_task (location_id, submitted_at)
    WHERE submitted_at IS NOT NULL;
