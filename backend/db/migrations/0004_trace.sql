-- Trace and exports: the indexes that keep "who got lot X" fast on a big ledger.
--
-- A lot's forward trace reads its receipts, shipments and returns: a small share of its
-- movements (its picks, packs and moves are most of them). This partial index holds just
-- those, with every column the trace reads, so on the append-only ledger (whose pages the
-- visibility map marks all-visible after each vacuum) the trace is an index-only scan of a
-- few pages however deep the lot's history. Only shipping and receiving pay for it; the
-- picks, packs and moves of the floor do not.
CREATE INDEX IF NOT EXISTS movement_trace_idx ON movement (lot_id, id)
    INCLUDE (kind, order_line_id, from_location_id, to_location_id, quantity, created_at)
    WHERE kind IN ('receipt', 'ship', 'return');

-- Exports by date range (FSMA 204, EPCIS): movements are written in time order, so a BRIN
-- index answers "movements between" for almost no write cost (as scan_recorded_at_idx).
CREATE INDEX IF NOT EXISTS movement_created_at_idx ON movement USING brin (created_at);

-- Which orders the units of a lot in totes and at pack stations are for. A plain index on
-- lot_id: a pick changes `picked`, not `lot_id`, so picks stay HOT updates.
CREATE INDEX IF NOT EXISTS pick_task_lot_idx ON pick_task (lot_id);

-- Trace by serial when the product is not given: serial's UNIQUE (product_id, serial)
-- cannot answer "which unit is SN123".
CREATE INDEX IF NOT EXISTS serial_serial_idx ON serial (serial);
