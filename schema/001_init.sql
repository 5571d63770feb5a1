-- 001_init.sql: the whole model of contract sections 1-4.
--
-- Money is numeric (exact); instants are timestamptz; reference rows are
-- soft-deleted (deleted_at) so that historical sales still resolve.
-- etl migrate runs this file in one transaction and records it in
-- etl_migrations.

-- Reference data ------------------------------------------------------------

CREATE TABLE stores (
    store_id    bigint PRIMARY KEY,
    name        text NOT NULL,
    address     text,
    city        text,
    province    text,
    country     text,
    phone       text,
    email       text,
    deleted_at  timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pos (
    pos_id      bigint PRIMARY KEY,
    store_id    bigint NOT NULL REFERENCES stores,
    name        text NOT NULL,
    deleted_at  timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pos_store_idx ON pos (store_id);

CREATE TABLE cameras (
    camera_id   text PRIMARY KEY,
    name        text,
    store_id    bigint REFERENCES stores,
    pos_id      bigint REFERENCES pos,
    model       text,
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    deleted_at  timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE items (
    item_id     bigint PRIMARY KEY,
    sku         text,
    name        text NOT NULL,
    price       numeric CHECK (price >= 0),
    currency    char(3),
    quantity    integer,
    deleted_at  timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE exchange_rates (
    currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    date        date NOT NULL,
    rate_to_usd numeric NOT NULL CHECK (rate_to_usd > 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (currency, date)
);

-- Sales ---------------------------------------------------------------------

-- A customer's email, names and accepts_marketing are those of their latest
-- loaded transaction (by transaction_date, then transaction_id); the
-- last_transaction_* columns say which one that is.
CREATE TABLE customers (
    customer_id               text PRIMARY KEY CHECK (customer_id <> ''),
    email                     text,
    first_name                text,
    last_name                 text,
    accepts_marketing         boolean,
    last_transaction_date     timestamptz NOT NULL,
    last_transaction_id       text NOT NULL,
    updated_at                timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE runs (
    run_id       bigserial PRIMARY KEY,
    command      text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    status       text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'ok', 'failed', 'killed', 'dry_run')),
    exit_code    integer,
    message      text,
    pid          integer,
    host         text,
    windows      integer NOT NULL DEFAULT 0,
    fetched      bigint NOT NULL DEFAULT 0,
    loaded       bigint NOT NULL DEFAULT 0,
    duplicates   bigint NOT NULL DEFAULT 0,
    quarantined  bigint NOT NULL DEFAULT 0,
    inserted     bigint NOT NULL DEFAULT 0,
    updated      bigint NOT NULL DEFAULT 0,
    unchanged    bigint NOT NULL DEFAULT 0,
    helix_sent   bigint NOT NULL DEFAULT 0,
    helix_updated bigint NOT NULL DEFAULT 0,
    helix_failed bigint NOT NULL DEFAULT 0,
    helix_pending bigint NOT NULL DEFAULT 0
);

-- One row per committed sales window (also for fetch and backfill ranges).
CREATE TABLE run_windows (
    run_id       bigint NOT NULL REFERENCES runs,
    window_start timestamptz NOT NULL,
    window_end   timestamptz NOT NULL,
    fetched      bigint NOT NULL,
    loaded       bigint NOT NULL,
    duplicates   bigint NOT NULL,
    quarantined  bigint NOT NULL,
    inserted     bigint NOT NULL,
    updated      bigint NOT NULL,
    unchanged    bigint NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, window_start)
);

CREATE TABLE transactions (
    transaction_id      text PRIMARY KEY CHECK (transaction_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    transaction_date    timestamptz NOT NULL,
    updated_at          timestamptz,
    store_id            bigint NOT NULL REFERENCES stores,
    pos_id              bigint NOT NULL REFERENCES pos,
    camera_id           text REFERENCES cameras,
    customer_id         text REFERENCES customers,
    -- the customer as this sale described them
    customer_email      text,
    customer_first_name text,
    customer_last_name  text,
    customer_accepts_marketing boolean,
    billing_address     jsonb,
    shipping_address    jsonb,
    -- billing province/country extracted for the reports
    billing_province    text,
    billing_country     text,
    currency            char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    financial_status    text NOT NULL CHECK (financial_status IN
                        ('paid', 'pending', 'refunded', 'partially_refunded', 'voided')),
    total_amount        numeric(14,2) NOT NULL CHECK (total_amount >= 0),
    total_discounts     numeric(14,2) NOT NULL DEFAULT 0 CHECK (total_discounts >= 0),
    total_tax           numeric(14,2) NOT NULL DEFAULT 0 CHECK (total_tax >= 0),
    units               integer NOT NULL CHECK (units >= 1),
    -- md5 of everything above and the line items: a later run compares it
    -- to decide between "updated" and "unchanged" without rewriting the row
    content_md5         text NOT NULL,
    run_id              bigint REFERENCES runs,
    loaded_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transactions_date_idx ON transactions (transaction_date);
CREATE INDEX transactions_customer_idx ON transactions (customer_id, transaction_date);
CREATE INDEX transactions_store_idx ON transactions (store_id, transaction_date);

CREATE TABLE line_items (
    transaction_id text NOT NULL REFERENCES transactions ON DELETE CASCADE,
    line_no        integer NOT NULL,
    item_id        bigint NOT NULL REFERENCES items,
    quantity       integer NOT NULL CHECK (quantity >= 1),
    unit_price     numeric(14,2) NOT NULL CHECK (unit_price >= 0),
    PRIMARY KEY (transaction_id, line_no)
);
CREATE INDEX line_items_item_idx ON line_items (item_id);

-- Quarantine: every record that failed validation, whole, with every reason.
CREATE TABLE quarantine (
    quarantine_id  bigserial PRIMARY KEY,
    run_id         bigint REFERENCES runs,
    resource       text NOT NULL,
    record_key     text,
    reasons        text[] NOT NULL CHECK (cardinality(reasons) > 0),
    raw            jsonb NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_resource_key_idx ON quarantine (resource, record_key);

-- The watermark: the start of the next hour window that etl run processes.
CREATE TABLE watermark (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    next_window  timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Helix ---------------------------------------------------------------------

CREATE TABLE helix_event_types (
    name            text PRIMARY KEY,
    event_type_uid  text NOT NULL,
    event_schema    jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- The outbox: one row per sale that has (or had) a Helix event.  Written in
-- the same commit as the sale; the sender works from it after the commit.
--   state   pending   an event or an update waits to be sent
--           inflight  a request went out and its outcome is not yet known:
--                     it must be resolved with a GET of the triple first
--           sent      the server has exactly the attributes in sent_attributes
--           failed    refused permanently; last_error has the server's message
--   op      create or update (PATCH of an event already sent)
CREATE TABLE helix_outbox (
    transaction_id  text PRIMARY KEY REFERENCES transactions,
    camera_id       text NOT NULL,
    event_type_uid  text,
    time_ms         bigint NOT NULL,
    attributes      jsonb NOT NULL,
    sent_attributes jsonb,
    op              text NOT NULL DEFAULT 'create' CHECK (op IN ('create', 'update')),
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'inflight', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    queued_at       timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    footage_url     text,
    UNIQUE (camera_id, time_ms)
);
CREATE INDEX helix_outbox_state_idx ON helix_outbox (state) WHERE state <> 'sent';
