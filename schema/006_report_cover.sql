-- 006_report_cover.sql: the province reports as index-only scans.
--
-- sales-by-province groups each counted sale by its billing address's
-- country and province, or by its store's when the sale has no billing
-- address or no province in it.  005 made the date index carry what the
-- other reports read; with the two billing columns as well, the province
-- reports read that index alone, provided they can tell "no billing
-- address" without reading the address (a jsonb in the heap).
--
-- They can: billing_country and billing_province are extracted from
-- billing_address (lib/validate.c), so without an address there is
-- neither.  The constraint below says so, for the database to enforce
-- and for lib/report.c to rely on: a sale whose billing province is
-- absent or empty takes its store's row, with or without an address.
-- Every stored sale already obeys it (the same validator loaded it), so
-- adding it only reads the table once.
DROP INDEX transactions_date_idx;
CREATE INDEX transactions_date_idx ON transactions (transaction_date)
    INCLUDE (financial_status, currency, total_amount, units, customer_id, store_id, transaction_id,
             billing_country, billing_province);
ALTER TABLE transactions ADD CONSTRAINT transactions_billing_extracted
    CHECK (billing_address IS NOT NULL OR (billing_province IS NULL AND billing_country IS NULL));
