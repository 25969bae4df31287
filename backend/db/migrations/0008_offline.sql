-- Offline handhelds: a handheld without a network judges a scan against its snapshot, queues
-- it in its outbox and sends it later. The scan row says so (`offline`, `queued_at`) and what
-- it was for (its order, return or count: a rejected scan's exception names them).
--
-- A queued scan the server then refuses (the lot was held meanwhile, its stock was taken)
-- was shown to the picker as accepted: it becomes an exception for a supervisor, in the same
-- transaction as its scan row, and the warehouse's handhelds are told (`scan.exception`).
-- A trigger writes both: scan rows are written by two paths (the batching recorder and a
-- step scan's own transaction), and the trigger is atomic with either without either
-- knowing, and fires only for a row actually inserted, so a replayed duplicate (its insert
-- skipped ON CONFLICT) never makes a second exception.

ALTER TABLE scan
    ADD COLUMN offline    boolean NOT NULL DEFAULT false,
    ADD COLUMN queued_at  timestamptz,
    ADD COLUMN order_id   bigint,
    ADD COLUMN return_id  bigint,
    ADD COLUMN count_id   bigint;

CREATE TABLE scan_exception (
    id            bigserial PRIMARY KEY,
    scan_id       bigint NOT NULL UNIQUE REFERENCES scan (id),
    -- The scanner, kept here (it is also the scan's) for "my exceptions".
    user_id       bigint NOT NULL REFERENCES app_user (id),
    -- The warehouse the scan named by its task, order, return, count or bin; null if none.
    warehouse_id  bigint REFERENCES warehouse (id),
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution    text CHECK (resolution IN ('redone', 'written_off', 'not_needed', 'other')),
    note          text CHECK (length(note) BETWEEN 1 AND 500),
    resolved_by   bigint REFERENCES app_user (id),
    resolved_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'resolved') = (resolution IS NOT NULL)),
    CHECK ((status = 'resolved') = (resolved_by IS NOT NULL)),
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE INDEX scan_exception_open_idx ON scan_exception (id) WHERE status = 'open';
CREATE INDEX scan_exception_user_idx ON scan_exception (user_id, id);

-- Every statement inserting scans passes its rows here; only offline rejected ones are kept.
-- Messages are numbered as backend/live/outbox.py numbers them (the warehouse's sequence row
-- stays locked to the end of the transaction), taken in warehouse order so that two batches
-- of scans cannot deadlock on the sequence rows.
CREATE FUNCTION scan_exception_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    made record;
    next_seq bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM inserted WHERE offline AND verdict = 'rejected') THEN
        RETURN NULL;
    END IF;
    FOR made IN
        WITH rejected AS (
            SELECT s.id, s.user_id, coalesce(
                       (SELECT o.warehouse_id FROM pick_task t
                          JOIN sales_order o ON o.id = t.order_id WHERE t.id = s.task_id),
                       (SELECT o.warehouse_id FROM sales_order o WHERE o.id = s.order_id),
                       (SELECT o.warehouse_id FROM customer_return r
                          JOIN sales_order o ON o.id = r.order_id WHERE r.id = s.return_id),
                       (SELECT c.warehouse_id FROM count_task ct
                          JOIN cycle_count c ON c.id = ct.count_id WHERE ct.id = s.count_id),
                       (SELECT l.warehouse_id FROM location l WHERE l.id = s.location_id)
                   ) AS warehouse_id
              FROM inserted s
             WHERE s.offline AND s.verdict = 'rejected'
        ), written AS (
            INSERT INTO scan_exception (scan_id, user_id, warehouse_id)
            SELECT id, user_id, warehouse_id FROM rejected ORDER BY id
            RETURNING id, scan_id, warehouse_id
        )
        SELECT w.id, w.warehouse_id,
               jsonb_build_object(
                   'exceptionId', w.id, 'scanId', s.id, 'idempotencyKey', s.idempotency_key,
                   'user', u.username, 'deviceId', s.device_key, 'context', s.context,
                   'code', s.code, 'message', s.message, 'lotId', s.lot_id,
                   'lotCode', l.code, 'taskId', s.task_id, 'orderId', s.order_id,
                   'returnId', s.return_id, 'countId', s.count_id,
                   'scannedAt', s.scanned_at, 'queuedAt', s.queued_at) AS data
          FROM written w
          JOIN inserted s ON s.id = w.scan_id
          JOIN app_user u ON u.id = s.user_id
          LEFT JOIN lot l ON l.id = s.lot_id
         WHERE w.warehouse_id IS NOT NULL
         ORDER BY w.warehouse_id, w.id
    LOOP
        INSERT INTO live_sequence AS q (warehouse_id, last_seq) VALUES (made.warehouse_id, 1)
        ON CONFLICT (warehouse_id) DO UPDATE SET last_seq = q.last_seq + 1
        RETURNING last_seq INTO next_seq;
        INSERT INTO live_message (warehouse_id, seq, type, data)
        VALUES (made.warehouse_id, next_seq, 'scan.exception', made.data);
        PERFORM pg_notify('lotline_live', made.warehouse_id::text);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER scan_exception_record AFTER INSERT ON scan
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION scan_exception_record();
