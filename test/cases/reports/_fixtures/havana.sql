-- havana.sql: sales around a local midnight that happens twice.  On
-- 2025-11-02 Havana set its clocks back from 00:59:59 CDT (-04) to 00:00 CST
-- (-05): the day 2025-11-02 begins at 04:00Z, though PostgreSQL reads
-- "2025-11-02 00:00" in America/Havana as the second midnight, 05:00Z.
--
--  id  transaction_date (UTC)   local (America/Havana)      USD
--  H1  2025-11-02T03:30:00Z     2025-11-01 23:30 CDT          1.00
--  H2  2025-11-02T04:30:00Z     2025-11-02 00:30 CDT (1st)   10.00
--  H3  2025-11-03T04:59:59Z     2025-11-02 23:59:59 CST     100.00
--  H4  2025-11-03T05:00:00Z     2025-11-03 00:00 CST       1000.00
INSERT INTO stores (store_id, name, province, country) VALUES (7, 'Havana Vieja', 'La Habana', 'CU');
INSERT INTO pos (pos_id, store_id, name) VALUES (71, 7, 'Havana POS');
INSERT INTO items (item_id, sku, name) VALUES (700, 'SKU-H', 'Cigar');
INSERT INTO customers (customer_id, email, accepts_marketing, last_transaction_date, last_transaction_id)
VALUES ('c-h', 'h@example.com', true, '2025-11-03T05:00:00Z', 'H4');
INSERT INTO transactions (transaction_id, transaction_date, store_id, pos_id, customer_id,
                          currency, financial_status, total_amount, units, content_md5) VALUES
  ('H1', '2025-11-02T03:30:00Z', 7, 71, 'c-h', 'USD', 'paid', 1.00, 1, 'x'),
  ('H2', '2025-11-02T04:30:00Z', 7, 71, 'c-h', 'USD', 'paid', 10.00, 1, 'x'),
  ('H3', '2025-11-03T04:59:59Z', 7, 71, 'c-h', 'USD', 'paid', 100.00, 1, 'x'),
  ('H4', '2025-11-03T05:00:00Z', 7, 71, 'c-h', 'USD', 'paid', 1000.00, 1, 'x');
INSERT INTO line_items (transaction_id, line_no, item_id, quantity, unit_price) VALUES
  ('H1', 1, 700, 1, 1.00), ('H2', 1, 700, 1, 10.00), ('H3', 1, 700, 1, 100.00), ('H4', 1, 700, 1, 1000.00);
