\ir ../_fixtures/base.sql
-- USD is always 1, even when the rates list has a row that says otherwise.
INSERT INTO exchange_rates (currency, date, rate_to_usd) VALUES ('USD', '2026-10-01', 0.5000);
