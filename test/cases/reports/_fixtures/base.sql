-- base.sql: the shared data set of the report cases (loaded by each case's
-- fixture.sql with \ir).  Every expected.csv beside it was worked out by hand
-- from the table below; the USD values are total_amount * rate.
--
--  id   transaction_date (UTC)     store cust     billing            cur status     amount rate   usd      units items
--  T16  2026-10-27T12:00Z          2     c-bob    US/Idaho           USD paid         7.00 1       7.00    1  102x1@7
--  T12  2026-10-30T12:00Z          2     c-alice  US/Idaho           USD paid        40.00 1      40.00    4  102x4@10
--  T01  2026-11-02T10:00Z          2     c-alice  US/Idaho           USD paid       100.00 1     100.00    1  101x1@100
--  T02  2026-11-03T12:00Z          1     c-alice  GB/Greater London  GBP paid        50.00 1.25   62.50    2  100x2@25
--  T04  2026-11-04T15:00Z          3     c-carol  CA/Ontario         CAD paid       100.00 0.70   70.00    1  101x1@100
--  T11  2026-11-05T03:00Z          2     c-bob    US/Idaho           GBP paid        10.00 1.30   13.00    1  100x1@10
--       (22:00 on 11-04 in New York: its rate is still that of its UTC date 11-05)
--  T05  2026-11-05T15:00Z          3     c-dave   CA/Quebec          CAD paid       100.00 0.70   70.00    1  100x1@100
--       (00:00 on 11-06 in Tokyo)
--  T03  2026-11-06T09:00Z          1     c-bob    (none) -> store 1  GBP paid        40.00 1.30   52.00    4  102x4@10
--  T06  2026-11-07T08:00Z          1     c-erin   FR/Île-de-France   EUR paid         1.00 1.0850  1.085   1  102x1@1
--  T07  2026-11-08T11:00:00.25Z    2     (anon)   (none) -> store 2  USD paid        30.00 1      30.00    3  102x3@10
--  T17  2026-11-08T12:00Z          1     (anon)   (none)             GBP voided      15.00                 1  102x1@15
--  T08  2026-11-08T12:00Z          2     c-bob    US/Idaho           USD pending    500.00                 5  101x5@100
--  T09  2026-11-09T12:00Z          1     c-frank  GB/Greater London  GBP pending     20.00                 2  102x2@10
--  T15  2026-11-10T10:00Z          3     c-carol  CA/Ontario         CAD refunded    50.00                 1  101x1@50
--  T10  2026-11-12T10:00Z          1     c-alice  IE/'' -> store 1   EUR paid       200.00 1.10  220.00    2  101x2@100
--  T13  2026-11-30T23:30Z          1     c-dave   GB/Greater London  GBP paid        20.00 1.30   26.00    2  100x2@10
--       (08:30 on 12-01 in Tokyo)
--  T14  2026-12-01T10:00Z          2     c-erin   US/Idaho           USD paid         5.00 1       5.00    1  102x1@5
--
-- Rates: EUR 2026-11-01 1.0850, 2026-11-10 1.1000; GBP 2026-10-31 1.2500,
-- 2026-11-05 1.3000; CAD 2026-11-01 0.7000; no USD row.
-- Marketing: c-alice, c-dave, c-erin true; c-bob false; c-carol NULL.

INSERT INTO stores (store_id, name, address, city, province, country) VALUES
  (1, 'London Oxford St', '1 Oxford St', 'London', 'Greater London', 'GB'),
  (2, 'Boise Downtown', '2 Main St', 'Boise', 'Idaho', 'US'),
  (3, 'Toronto Eaton', '3 Yonge St', 'Toronto', 'Ontario', 'CA');

INSERT INTO pos (pos_id, store_id, name) VALUES
  (11, 1, 'London POS'), (21, 2, 'Boise POS'), (31, 3, 'Toronto POS');

INSERT INTO cameras (camera_id, name, store_id, pos_id) VALUES
  ('cam-1', 'Till 1', 1, 11), ('cam-2', 'Till 2', 2, 21), ('cam-3', 'Till 3', 3, 31);

INSERT INTO items (item_id, sku, name, price, currency, quantity) VALUES
  (101, 'SKU-A', 'Sneaker', 100.00, 'USD', 10),
  (100, 'SKU-B', 'Shirt, "striped"', 25.00, 'USD', 10),
  (102, 'SKU-C', 'Socks', 10.00, 'USD', 10);

INSERT INTO exchange_rates (currency, date, rate_to_usd) VALUES
  ('EUR', '2026-11-01', 1.0850), ('EUR', '2026-11-10', 1.1000),
  ('GBP', '2026-10-31', 1.2500), ('GBP', '2026-11-05', 1.3000),
  ('CAD', '2026-11-01', 0.7000);

-- Inserted out of id order on purpose: ties must be broken by id, not by luck.
INSERT INTO customers (customer_id, email, first_name, last_name, accepts_marketing,
                       last_transaction_date, last_transaction_id) VALUES
  ('c-erin', 'erin@example.com', 'Erin', 'Eve', true, '2026-12-01T10:00:00Z', 'T14'),
  ('c-dave', 'dave@example.com', 'Dave', 'Diaz', true, '2026-11-30T23:30:00Z', 'T13'),
  ('c-carol', NULL, 'Carol', 'Cruz', NULL, '2026-11-10T10:00:00Z', 'T15'),
  ('c-bob', 'bob@example.com', 'Bob', 'Brown', false, '2026-11-08T12:00:00Z', 'T08'),
  ('c-alice', 'alice@example.com', 'Alice', 'Ames', true, '2026-11-12T10:00:00Z', 'T10'),
  ('c-frank', 'frank@example.com', 'Frank', 'Fox', true, '2026-11-09T12:00:00Z', 'T09');

INSERT INTO transactions (transaction_id, transaction_date, store_id, pos_id, customer_id,
                          billing_address, billing_country, billing_province,
                          currency, financial_status, total_amount, units, content_md5) VALUES
  ('T16', '2026-10-27T12:00:00Z', 2, 21, 'c-bob',   '{"country":"US","province":"Idaho"}', 'US', 'Idaho', 'USD', 'paid', 7.00, 1, 'x'),
  ('T12', '2026-10-30T12:00:00Z', 2, 21, 'c-alice', '{"country":"US","province":"Idaho"}', 'US', 'Idaho', 'USD', 'paid', 40.00, 4, 'x'),
  ('T01', '2026-11-02T10:00:00Z', 2, 21, 'c-alice', '{"country":"US","province":"Idaho"}', 'US', 'Idaho', 'USD', 'paid', 100.00, 1, 'x'),
  ('T02', '2026-11-03T12:00:00Z', 1, 11, 'c-alice', '{"country":"GB","province":"Greater London"}', 'GB', 'Greater London', 'GBP', 'paid', 50.00, 2, 'x'),
  ('T04', '2026-11-04T15:00:00Z', 3, 31, 'c-carol', '{"country":"CA","province":"Ontario"}', 'CA', 'Ontario', 'CAD', 'paid', 100.00, 1, 'x'),
  ('T11', '2026-11-05T03:00:00Z', 2, 21, 'c-bob',   '{"country":"US","province":"Idaho"}', 'US', 'Idaho', 'GBP', 'paid', 10.00, 1, 'x'),
  ('T05', '2026-11-05T15:00:00Z', 3, 31, 'c-dave',  '{"country":"CA","province":"Quebec"}', 'CA', 'Quebec', 'CAD', 'paid', 100.00, 1, 'x'),
  ('T03', '2026-11-06T09:00:00Z', 1, 11, 'c-bob',   NULL, NULL, NULL, 'GBP', 'paid', 40.00, 4, 'x'),
  ('T06', '2026-11-07T08:00:00Z', 1, 11, 'c-erin',  '{"country":"FR","province":"Île-de-France"}', 'FR', 'Île-de-France', 'EUR', 'paid', 1.00, 1, 'x'),
  ('T07', '2026-11-08T11:00:00.25Z', 2, 21, NULL,   NULL, NULL, NULL, 'USD', 'paid', 30.00, 3, 'x'),
  ('T17', '2026-11-08T12:00:00Z', 1, 11, NULL,      NULL, NULL, NULL, 'GBP', 'voided', 15.00, 1, 'x'),
  ('T08', '2026-11-08T12:00:00Z', 2, 21, 'c-bob',   '{"country":"US","province":"Idaho"}', 'US', 'Idaho', 'USD', 'pending', 500.00, 5, 'x'),
  ('T09', '2026-11-09T12:00:00Z', 1, 11, 'c-frank', '{"country":"GB","province":"Greater London"}', 'GB', 'Greater London', 'GBP', 'pending', 20.00, 2, 'x'),
  ('T15', '2026-11-10T10:00:00Z', 3, 31, 'c-carol', '{"country":"CA","province":"Ontario"}', 'CA', 'Ontario', 'CAD', 'refunded', 50.00, 1, 'x'),
  ('T10', '2026-11-12T10:00:00Z', 1, 11, 'c-alice', '{"country":"IE","province":""}', 'IE', '', 'EUR', 'paid', 200.00, 2, 'x'),
  ('T13', '2026-11-30T23:30:00Z', 1, 11, 'c-dave',  '{"country":"GB","province":"Greater London"}', 'GB', 'Greater London', 'GBP', 'paid', 20.00, 2, 'x'),
  ('T14', '2026-12-01T10:00:00Z', 2, 21, 'c-erin',  '{"country":"US","province":"Idaho"}', 'US', 'Idaho', 'USD', 'paid', 5.00, 1, 'x');

INSERT INTO line_items (transaction_id, line_no, item_id, quantity, unit_price) VALUES
  ('T16', 1, 102, 1, 7.00),
  ('T12', 1, 102, 4, 10.00),
  ('T01', 1, 101, 1, 100.00),
  ('T02', 1, 100, 2, 25.00),
  ('T04', 1, 101, 1, 100.00),
  ('T11', 1, 100, 1, 10.00),
  ('T05', 1, 100, 1, 100.00),
  ('T03', 1, 102, 4, 10.00),
  ('T06', 1, 102, 1, 1.00),
  ('T07', 1, 102, 3, 10.00),
  ('T17', 1, 102, 1, 15.00),
  ('T08', 1, 101, 5, 100.00),
  ('T09', 1, 102, 2, 10.00),
  ('T15', 1, 101, 1, 50.00),
  ('T10', 1, 101, 2, 100.00),
  ('T13', 1, 100, 2, 10.00),
  ('T14', 1, 102, 1, 5.00);

-- Helix: T01 sent (a footage link with a comma, for CSV quoting), T02 in
-- flight (shown as pending), T03 failed, T04 pending; the rest have none.
INSERT INTO helix_outbox (transaction_id, camera_id, event_type_uid, time_ms, attributes, sent_attributes, state, footage_url) VALUES
  ('T01', 'cam-2', 'et-sales', 1793613600000, '{}', '{}', 'sent', 'https://helix.example.com/f?cam=cam-2&t=1,2'),
  ('T02', 'cam-1', 'et-sales', 1793707200000, '{}', NULL, 'inflight', NULL),
  ('T03', 'cam-1', 'et-sales', 1793955600000, '{}', NULL, 'failed', NULL),
  ('T04', 'cam-3', 'et-sales', 1793804400000, '{}', NULL, 'pending', NULL);
