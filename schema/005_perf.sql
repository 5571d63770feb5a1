-- 005_perf.sql: indexes for the load path and the reports (docs/performance.md).
--
-- Every sales window inserts its sales and line items through these tables'
-- indexes, so an index must earn its upkeep.  Two never did:
--   transactions_store_idx  (store_id, transaction_date): no query reads
--       sales by store without a date range, and every range query starts
--       from the date index; stores are never deleted (soft delete), so the
--       foreign key never looks sales up by store either;
--   line_items_item_idx     (item_id): likewise, reads go by transaction_id
--       (the primary key) and items are never deleted.
-- Dropping them cut the index work of a window's merge by a third (the
-- benchmark in docs/performance.md).  The foreign keys stay as they are.
DROP INDEX IF EXISTS transactions_store_idx;
DROP INDEX IF EXISTS line_items_item_idx;

-- The reports read a date range of sales and, for top-items, their line
-- items.  These two indexes, which every window maintains anyway, also
-- carry the columns the reports read, so that the reports are index-only
-- scans (no heap visit) once the visibility map knows the pages are
-- all-visible: the date index of transactions, and line_items' primary key.
DROP INDEX transactions_date_idx;
CREATE INDEX transactions_date_idx ON transactions (transaction_date)
    INCLUDE (financial_status, currency, total_amount, units, customer_id, store_id, transaction_id);
ALTER TABLE line_items DROP CONSTRAINT line_items_pkey,
    ADD CONSTRAINT line_items_pkey PRIMARY KEY (transaction_id, line_no) INCLUDE (item_id, quantity, unit_price);
-- The visibility map is kept by vacuum; autovacuum's default for
-- insert-only tables waits for 20 % new rows (weeks of sales at 1M rows),
-- which would leave the recent days, the ones reports read most, to the
-- heap.  Vacuum these two after 0.5 % (plus the 1000-row threshold).
ALTER TABLE transactions SET (autovacuum_vacuum_insert_scale_factor = 0.005);
ALTER TABLE line_items SET (autovacuum_vacuum_insert_scale_factor = 0.005);
