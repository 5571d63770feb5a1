\ir ../_fixtures/base.sql
-- A paid sale in a currency with no rate at all (validation would have
-- quarantined it; only a hand-edited database has one): it counts as an
-- order, a customer's and units, and adds nothing to revenue.
INSERT INTO transactions (transaction_id, transaction_date, store_id, pos_id, customer_id,
                          currency, financial_status, total_amount, units, content_md5)
VALUES ('T18', '2026-11-15T12:00:00Z', 1, 11, 'c-alice', 'JPY', 'paid', 1000.00, 1, 'x');
INSERT INTO line_items (transaction_id, line_no, item_id, quantity, unit_price) VALUES ('T18', 1, 102, 1, 1000.00);
